package proxy

import (
	"context"
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/directory"
)

// popOwnRoutes removes the Route entries at the top that name this replica (RFC
// 3261 §16.4), and reports whether there was one: the request is then on a path
// we are part of (our Record-Route, or a route pre-loaded to our domain). Two
// entries when we record-routed twice (RFC 5658).
func (p *Proxy) popOwnRoutes(req *sip.Request) bool {
	popped := false
	for {
		rt := req.Route()
		if rt == nil || !p.self.OursURI(&rt.Address, req.Transport()) {
			return popped
		}
		req.RemoveHeader("Route")
		popped = true
	}
}

// nextHop is where a request on a route through us goes next: the next Route
// entry, else its Request-URI, the remote target of the dialog. When that target
// is a device registered with us (the To of an in-dialog request is the party it
// goes to), it is sent where the device's REGISTER came from, as an initial
// request would be: its Contact may sit behind a NAT.
func (p *Proxy) nextHop(req *sip.Request) hop {
	if rt := req.Route(); rt != nil {
		return hop{URI: req.Recipient, Transport: uriTransport(&rt.Address)}
	}
	h := hop{URI: req.Recipient, Transport: uriTransport(&req.Recipient)}
	to := req.To()
	if to == nil || to.Address.User == "" {
		return h
	}
	dom, ok := p.dir.Domain(strings.ToLower(to.Address.Host))
	if !ok {
		return h
	}
	user, err := directory.CanonicalUser(to.Address.User)
	if err != nil {
		return h
	}
	aor := user + "@" + dom.Domain
	if t, ok := p.targets.ByURI(aor, req.Recipient.String(), p.now()); ok {
		if th, ok := p.hopFor(t, aor, req); ok {
			th.URI = h.URI
			return th
		}
	}
	return h
}

// OnAck relays an ACK on a route through us (the ACK of a 2xx, RFC 3261 §16.11:
// statelessly, with a branch that is the same for every retransmission of it).
// Any other ACK is not ours: the ACK of a non-2xx response ends in the
// transaction layer, and stray ACKs (the reference service's flow draws one after
// each REGISTER answer) are dropped. So is one without a To tag: the ACK of a
// 2xx always has one, and we relay nothing else on a pre-loaded route (relay.go).
func (p *Proxy) OnAck(req *sip.Request, _ sip.ServerTransaction) {
	if req.Via() == nil || !p.popOwnRoutes(req) {
		p.routed(req, OutcomeDropped)
		return
	}
	if !hasToTag(req) {
		p.routed(req, OutcomeRelayDenied)
		return
	}
	mf, ok := NextMaxForwards(req)
	if !ok {
		p.routed(req, OutcomeTooManyHops)
		return
	}
	h := p.nextHop(req)
	fwd := req.Clone()
	fwd.Recipient = *h.URI.Clone()
	m := sip.MaxForwardsHeader(mf)
	if fwd.MaxForwards() != nil {
		fwd.ReplaceHeader(&m)
	} else {
		fwd.AppendHeader(&m)
	}
	markReceived(fwd, req.Source())
	fwd.PrependHeader(p.self.Via(h.Transport, statelessBranch(req)))
	// A device behind a Path (or another replica's flow) is reached through its
	// route set, the ACK as the BYE.
	addRoutes(fwd, h)
	p.setRoute(fwd, h)
	err := p.writeStateless(fwd)
	if errors.Is(err, sip.ErrUDPMTUCongestion) && !udpOnly(&h.URI) && p.self.TCPPort != 0 {
		// Too large for a datagram (an ACK may carry the SDP answer): TCP, as
		// RFC 3261 §18.1.1 asks, with our Via saying so.
		h.Transport = transportTCP
		fwd.RemoveHeader("Via")
		fwd.PrependHeader(p.self.Via(h.Transport, statelessBranch(req)))
		p.setRoute(fwd, h)
		err = p.writeStateless(fwd)
	}
	if err != nil {
		p.log.V(1).Info("could not relay an ACK", "to", fwd.Destination(), "error", err.Error())
		p.routed(req, OutcomeUnreachable)
		return
	}
	p.routed(req, OutcomeForwarded)
}

// writeStateless sends req outside a transaction, as sipgo's WriteRequest does,
// but opens the connection it may need within connectTimeout: sipgo's has no
// bound on a TLS handshake, and while one hangs, every other request to the same
// address waits on it (one connection attempt per address at a time).
func (p *Proxy) writeStateless(req *sip.Request) error {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	conn, err := p.client.TransportLayer().ClientRequestConnection(ctx, req)
	cancel()
	if err != nil {
		return err
	}
	defer func() { _, _ = conn.TryClose() }()
	return conn.WriteMsg(req)
}
