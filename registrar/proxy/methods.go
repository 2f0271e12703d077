package proxy

import (
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Which methods reach an extension. A proxy routes a request by its Request-URI
// whatever its method, and need not understand a method to forward it (RFC 3261
// §16): every request for a registered AOR goes to its devices, SUBSCRIBE,
// NOTIFY, REFER and PUBLISH as INVITE and MESSAGE. Three methods are not routed
// so: REGISTER is the registrar's own (package register), an ACK is never
// answered (relayed on a route through us, else dropped: OnAck), and a CANCEL
// is matched by the transaction layer to the INVITE it cancels (one matching
// none is answered 481: OnCancel).

// methodOther labels in metrics a method none of allowed names: the label set
// stays bounded whatever method names callers make up.
const methodOther = "other"

// allowed are the methods this registrar takes, in the order of RFC 3261's own
// list: REGISTER, which it answers, and those it routes. It routes any other
// method too (§16); these are the ones a caller may count on.
var allowed = []sip.RequestMethod{sip.INVITE, sip.ACK, sip.CANCEL, sip.BYE, sip.OPTIONS, sip.MESSAGE,
	sip.REGISTER, sip.UPDATE, sip.INFO, sip.PRACK, sip.REFER, sip.NOTIFY, sip.SUBSCRIBE, sip.PUBLISH}

// allowExcept is an Allow header value (RFC 3261 §20.5): the methods of allowed,
// but refused, the method a 405 answers (§21.4.6: Allow lists what is allowed).
// "" refuses none (an answer to OPTIONS, §11.2).
func allowExcept(refused sip.RequestMethod) string {
	names := make([]string, 0, len(allowed))
	for _, m := range allowed {
		if m != refused {
			names = append(names, m.String())
		}
	}
	return strings.Join(names, ", ")
}

// notAllowed answers req 405 Method Not Allowed, its Allow naming every method
// we take but req's.
func (p *Proxy) notAllowed(req *sip.Request, tx sip.ServerTransaction) string {
	res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowExcept(req.Method)))
	p.send(tx, res)
	return OutcomeNotAllowed
}

// createsDialog reports whether an initial request of method m sets up a dialog
// whose later requests must find their way back through us: INVITE (RFC 3261
// §12), SUBSCRIBE (RFC 6665 §4.4.1), and REFER, whose implicit subscription is
// one (RFC 3515 §2.4.4).
func createsDialog(m sip.RequestMethod) bool {
	return m == sip.INVITE || m == sip.SUBSCRIBE || m == sip.REFER
}

// recordRoutes reports whether our Record-Route goes into req (RFC 3261 §16.6
// step 4): an initial request that creates a dialog, and a NOTIFY of a
// subscription on a route through us. RFC 6665 §4.3 asks a proxy that
// record-routed the SUBSCRIBE to record-route its NOTIFYs: the first NOTIFY may
// reach the subscriber before the 200, or come from a fork the 200 did not, and
// then creates the dialog whose route set its Record-Route makes. Without us in
// it, the subscriber's refreshes go straight to a device behind a NAT, or
// reached over a connection only one replica holds.
func (p *Proxy) recordRoutes(req *sip.Request) bool {
	if !p.recordRoute {
		return false
	}
	if hasToTag(req) {
		return req.Method == sip.NOTIFY
	}
	return createsDialog(req.Method)
}

// methodLabel is req's method as metrics label it: one of allowed, else
// methodOther.
func methodLabel(m sip.RequestMethod) string {
	if slices.Contains(allowed, m) {
		return m.String()
	}
	return methodOther
}
