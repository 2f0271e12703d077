package proxy

import "time"

// Outcomes of a proxied request, as metrics label them.
const (
	OutcomeAnswered       = "answered"         // a 2xx went upstream
	OutcomeRejected       = "rejected"         // the devices' best answer was 3xx-6xx
	OutcomeCancelled      = "cancelled"        // the caller sent CANCEL
	OutcomeTimeout        = "timeout"          // no device answered
	OutcomeUnreachable    = "unreachable"      // no device could be sent to
	OutcomeTooLarge       = "too_large"        // 513: too large for UDP, and the device takes no TCP
	OutcomeNotFound       = "not_found"        // 404: no such extension, or not a domain we serve
	OutcomeUnavailable    = "unavailable"      // 480: not registered, or disabled
	OutcomeLoop           = "loop_detected"    // 482
	OutcomeTooManyHops    = "too_many_hops"    // 483
	OutcomeBadRequest     = "bad_request"      // 400, 420
	OutcomeNotAllowed     = "not_allowed"      // 405: REGISTER, which the registrar answers, reached the proxy
	OutcomeChallenged     = "challenged"       // 407 to a caller of our domain
	OutcomeForbidden      = "forbidden"        // 403: wrong caller credentials
	OutcomeThrottled      = "throttled"        // 403 + Retry-After: the caller failed too often
	OutcomeRelayDenied    = "relay_denied"     // 403 Relaying Denied: a pre-loaded route to a target not ours
	OutcomeLocal          = "answered_here"    // OPTIONS to the registrar itself
	OutcomeForwarded      = "forwarded"        // ACK relayed statelessly
	OutcomeNoTransaction  = "no_transaction"   // 481: a CANCEL matching nothing
	OutcomeDropped        = "dropped"          // an ACK not for us to route
	OutcomeCancelNoEffect = "cancel_no_effect" // 200 to a CANCEL of a non-INVITE being forwarded, which goes on
	OutcomeRetransmission = "retransmission"   // a late copy of a non-INVITE that ended unanswered, absorbed
)

// Observer receives what the proxy measures (Prometheus in production).
type Observer interface {
	// Routed counts one request by method and outcome.
	Routed(method, outcome string)
	// Throttled counts a request refused by the guessing guard, by the throttle
	// that refused it (the guard's kinds, as for REGISTER).
	Throttled(kind string)
	// Forks records how many branches one request was forked to.
	Forks(n int)
	// FirstProvisional records the time from a request to the first provisional
	// response (above 100) relayed to the caller.
	FirstProvisional(d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Routed(string, string)          {}
func (nopObserver) Throttled(string)               {}
func (nopObserver) Forks(int)                      {}
func (nopObserver) FirstProvisional(time.Duration) {}
