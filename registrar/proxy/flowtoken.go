package proxy

import (
	"net/url"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The flow token a replica relays a request with (flow.go) says "this request for
// this AOR passed my caller policy": the holder sends it over the device's flow
// without challenging the caller again (the relaying replica removed the caller's
// credentials, and their nonce is bound to it). So the token must not be forgeable:
// beside the AOR (the route's user part) the route carries a signature, made with
// the cluster-wide nonce key (digest.NonceSigner.Token), over the AOR and the
// request it was made for (method, Call-ID, From), and its time. The holder
// honours only a token whose signature holds and which is young; any other route
// to it is popped and the request treated as any other (challenged when callers
// must authenticate).

const (
	// flowTokenLabel sets flow tokens apart from other uses of the nonce key.
	flowTokenLabel = "flow relay"
	// flowSigParam is the route parameter carrying the signature.
	flowSigParam = "sig"
	// flowTokenLifetime is how old a token may be at the holder: relayed at once,
	// it arrives within milliseconds, but over UDP its retransmissions come for up
	// to 64·T1 (32 s). digest.NonceSigner.CheckToken allows for clock skew
	// between replicas.
	flowTokenLifetime = 32 * time.Second
)

// flowClaims are the fields a flow token signs, beside its time.
func flowClaims(req *sip.Request, aor string) []string {
	from := ""
	if f := req.From(); f != nil {
		from = f.Address.User + "@" + f.Address.Host
	}
	callID := ""
	if c := req.CallID(); c != nil {
		callID = c.Value()
	}
	return []string{aor, req.Method.String(), callID, from}
}

// signFlowRoute turns rt, a holder's flow route, into the route req is relayed
// to aor's flow with.
func (p *Proxy) signFlowRoute(rt *sip.Uri, req *sip.Request, aor string, now time.Time) {
	rt.User = url.QueryEscape(aor)
	rt.UriParams.Add(flowSigParam, p.nonces.Token(flowTokenLabel, now, flowClaims(req, aor)...))
}

// flowToken returns the AOR a top Route naming this replica carries as a flow
// token ("" when it carries none, or one whose signature fails): the request was
// relayed to a flow we hold.
func (p *Proxy) flowToken(req *sip.Request) string {
	rt := req.Route()
	if rt == nil || rt.Address.User == "" || !rt.Address.UriParams.Has(flowParam) ||
		!p.self.OursURI(&rt.Address, req.Transport()) {
		return ""
	}
	aor, err := url.QueryUnescape(rt.Address.User)
	if err != nil {
		return ""
	}
	sig, _ := rt.Address.UriParams.Get(flowSigParam)
	if err := p.nonces.CheckToken(sig, flowTokenLabel, p.now(), flowTokenLifetime, flowClaims(req, aor)...); err != nil {
		p.log.V(1).Info("a route to one of our flows without a good token: routed as any request",
			"aor", aor, "source", req.Source(), "error", err.Error())
		return ""
	}
	return aor
}
