package proxy

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/directory"
)

// No open relay. An initial request (no To tag) on a route pre-loaded through us
// would otherwise go wherever its Request-URI or next Route names: anyone could
// bounce INVITEs and MESSAGEs off a replica to any third party (toll fraud, spam,
// a hidden source). It goes on only when its target is ours (relayTargetOurs), or
// when its caller proved to be one of our extensions (the caller policy with
// --require-caller-auth: an authenticated extension may use us as its outbound
// proxy). Without --require-caller-auth a From naming one of our domains is only
// a claim, so it opens nothing. Requests inside a dialog are not challenged (RFC
// 3261 §16): docs/security.md says what that leaves open.

// RelayDeniedReason is the reason phrase of the 403 a relay attempt gets.
const RelayDeniedReason = "Relaying Denied"

// mayRelay reports whether an initial request on a route through us, our Route
// entries popped and the caller policy passed, may go on to its next hop.
func (p *Proxy) mayRelay(req *sip.Request) bool {
	return p.relayTargetOurs(req) || p.authenticatedCaller(req)
}

// authenticatedCaller reports whether the caller policy checked req's caller's
// digest: callers must authenticate and its From is a user of a domain we serve.
func (p *Proxy) authenticatedCaller(req *sip.Request) bool {
	if !p.requireAuth {
		return false
	}
	from := req.From().Address
	if user, err := directory.CanonicalUser(from.User); user == "" || err != nil {
		return false // callerPolicy refused a malformed escape already
	}
	_, served := p.dir.Domain(strings.ToLower(from.Host))
	return served
}

// relayTargetOurs reports whether the next hop of req is ours: with no Route
// left, a Request-URI naming a domain we serve, this replica, or a device
// registered with us (a binding's Contact, of the AOR To names, as nextHop finds
// it); with a Route left, a route that leads to such a device (the first hop of
// its Path, or the replica holding its flow or connection).
func (p *Proxy) relayTargetOurs(req *sip.Request) bool {
	ru := &req.Recipient
	rt := req.Route()
	if rt == nil {
		if _, served := p.dir.Domain(strings.ToLower(ru.Host)); served {
			return true
		}
		if p.self.Ours(ru.Host, ru.Port) {
			return true
		}
	}
	t, ok := p.bindingOf(req)
	if !ok {
		return false
	}
	if rt == nil {
		return true
	}
	return sameHop(&rt.Address, t.FlowRoute) || sameHop(&rt.Address, firstPathHop(t.Path))
}

// bindingOf returns the binding whose Contact is req's Request-URI, of the AOR of
// a served domain that To names.
func (p *Proxy) bindingOf(req *sip.Request) (Target, bool) {
	to := req.To()
	if to == nil || to.Address.User == "" {
		return Target{}, false
	}
	dom, ok := p.dir.Domain(strings.ToLower(to.Address.Host))
	if !ok {
		return Target{}, false
	}
	user, err := directory.CanonicalUser(to.Address.User)
	if err != nil {
		return Target{}, false
	}
	return p.targets.ByURI(user+"@"+dom.Domain, req.Recipient.String(), p.now())
}

// firstPathHop is the first URI of a stored Path ("" for none or one that no
// longer parses).
func firstPathHop(path string) string {
	if path == "" {
		return ""
	}
	if h := pathHop(sip.Uri{}, path); len(h.Route) > 0 {
		return h.Route[0]
	}
	return ""
}

// sameHop reports whether u names the host and port of the URI route ("" names
// nothing), with the default port of each one's transport.
func sameHop(u *sip.Uri, route string) bool {
	var r sip.Uri
	if route == "" || sip.ParseUri(route, &r) != nil || r.Host == "" {
		return false
	}
	return strings.EqualFold(uriHostPort(u, uriTransport(u)), uriHostPort(&r, uriTransport(&r)))
}
