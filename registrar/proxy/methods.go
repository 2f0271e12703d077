package proxy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Which methods reach an extension. A proxy routes a request by its Request-URI
// whatever its method, and need not understand a method to forward it (RFC 3261
// §16). But out of a dialog a request reaches a device from anyone who can send
// to the Service (by default no caller authenticates), and some methods there
// are attacks on phones more than calls: an unsolicited NOTIFY with Event:
// check-sync reboots or reprovisions many desk phones, an out-of-dialog REFER
// makes many place a call of the attacker's choosing as the extension, and a
// SUBSCRIBE to the dialog package tells who a phone talks to. So the methods
// routed to an extension out of a dialog are a setting (RoutedMethods): calls,
// messages and capability queries by default, any other on purpose, every one
// with "*". Requests in a dialog through us (BYE, re-INVITE, PRACK, UPDATE,
// INFO, a subscription's NOTIFY) are relayed whatever their method. Three
// methods are never routed so: REGISTER is the registrar's own (package
// register), an ACK is never answered (relayed on a route through us, else
// dropped: OnAck), and a CANCEL is matched by the transaction layer to the
// INVITE it cancels (one of another request being handled is answered 200, one
// matching none 481: OnCancel).

// DefaultRoutedMethods are the methods routed to an extension's devices out of
// a dialog when RoutedMethods is not set.
var DefaultRoutedMethods = []string{"INVITE", "MESSAGE", "OPTIONS"}

// AllMethods in RoutedMethods routes every method.
const AllMethods = "*"

// ParseRoutedMethods reads a comma-separated list of methods (or "*"), as the
// --routed-methods flag gives it: each a SIP token, in any case; REGISTER, ACK
// and CANCEL are refused (see above).
func ParseRoutedMethods(list string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(list, ",") {
		m := strings.ToUpper(strings.TrimSpace(f))
		switch {
		case m == "":
			continue
		case m == AllMethods:
			if strings.TrimSpace(list) != AllMethods {
				return nil, fmt.Errorf("routed methods %q: %q stands alone, for every method", list, AllMethods)
			}
		case m == "REGISTER" || m == "ACK" || m == "CANCEL":
			return nil, fmt.Errorf("routed methods %q: %s is not routed to devices "+
				"(REGISTER is answered by the registrar, ACK and CANCEL follow their transaction): leave it out", list, m)
		case !isToken(m):
			return nil, fmt.Errorf("routed methods %q: %q is no SIP method name", list, f)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("routed methods %q: name at least one, such as INVITE", list)
	}
	return out, nil
}

// isToken reports whether s is an RFC 3261 token (§25.1), as a method is.
func isToken(s string) bool {
	for _, r := range s {
		alnum := r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && !strings.ContainsRune("-.!%*_+`'~", r) {
			return false
		}
	}
	return s != ""
}

// routes reports whether a request of method m, out of a dialog, is routed to
// an extension's devices.
func (p *Proxy) routes(m sip.RequestMethod) bool {
	return p.routeAll || slices.Contains(p.routedMethods, string(m))
}

// methodOther labels in metrics a method none of allowed names: the label set
// stays bounded whatever method names callers make up.
const methodOther = "other"

// allowed are the methods a registrar may take, in the order of RFC 3261's own
// list: REGISTER, which it answers, and those it may route.
var allowed = []sip.RequestMethod{sip.INVITE, sip.ACK, sip.CANCEL, sip.BYE, sip.OPTIONS, sip.MESSAGE,
	sip.REGISTER, sip.UPDATE, sip.INFO, sip.PRACK, sip.REFER, sip.NOTIFY, sip.SUBSCRIBE, sip.PUBLISH}

// inDialog are the methods of allowed that are taken whatever RoutedMethods
// says: REGISTER, ACK, CANCEL, and those that only make sense in a dialog,
// which is relayed whatever its requests' methods.
var inDialog = []sip.RequestMethod{sip.ACK, sip.CANCEL, sip.BYE, sip.REGISTER, sip.UPDATE, sip.INFO, sip.PRACK}

// allowList is the value of our Allow header (RFC 3261 §20.5): the methods of
// allowed that this registrar takes out of a dialog, and those of dialogs.
func (p *Proxy) allowList() []sip.RequestMethod {
	var out []sip.RequestMethod
	for _, m := range allowed {
		if slices.Contains(inDialog, m) || p.routes(m) {
			out = append(out, m)
		}
	}
	return out
}

// allowExcept is an Allow header value (RFC 3261 §20.5): the methods we take,
// but refused, the method a 405 answers (§21.4.6: Allow lists what is allowed).
// "" refuses none (an answer to OPTIONS, §11.2).
func (p *Proxy) allowExcept(refused sip.RequestMethod) string {
	names := make([]string, 0, len(allowed))
	for _, m := range p.allowList() {
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
	res.AppendHeader(sip.NewHeader("Allow", p.allowExcept(req.Method)))
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
