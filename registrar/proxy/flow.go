package proxy

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/location"
)

// Outbound flows (RFC 5626). A device registered with +sip.instance and reg-id
// is reached over the flow its REGISTER came on, whatever its Contact says (often
// a made-up *.invalid host): the connection (TCP, TLS, WS, WSS: whatever
// connection-oriented transport it came over) or, over UDP, its source address
// from our UDP socket. A connection that is gone is a flow that failed: that
// branch ends as 430 Flow Failed (§5.3), and the device, which notices too,
// registers a new flow.
//
// Only the replica that accepted the connection holds the flow. Another replica
// relays the request to it: the holder names, in the binding's status, a route
// to itself (flowRoute, see Self.FlowRoute); the relaying replica pre-loads that
// route with the AOR as its user part and a signature (a flow token,
// flowtoken.go), and the holder, finding its own route with a good flow token on
// top, sends the request over the flow of that AOR whose Contact is the
// Request-URI. A binding on a connection without outbound is relayed alike
// (connection.go).

// StatusFlowFailed is 430 Flow Failed (RFC 5626 §11).
const StatusFlowFailed = 430

// flowParam marks a route as a flow route: its user part is a flow token.
const flowParam = "ob"

// FlowRoute is the route other replicas relay requests for this replica's flows
// through: TCP when served (a request of any size fits), else UDP.
func (s *Self) FlowRoute() string {
	t := transportTCP
	if s.TCPPort == 0 {
		t = transportUDP
	}
	return "sip:" + s.HostPort(t) + ";transport=" + strings.ToLower(t) + ";lr;" + flowParam
}

// flowHop reaches a target this replica holds the flow of. A connection-oriented
// flow whose connection is gone fails with 430.
func (p *Proxy) flowHop(u sip.Uri, t Target) hop {
	h := hop{URI: u, Dest: t.Source, Transport: strings.ToUpper(t.Transport)}
	if h.Transport == "" {
		h.Transport = transportUDP
	}
	if h.Transport != transportUDP && !p.hasConnection(h.Transport, h.Dest) {
		h.Fail = StatusFlowFailed
	}
	return h
}

// hasConnection reports whether the transport layer still holds a connection to
// dest over transport (the device's flow).
func (p *Proxy) hasConnection(transport, dest string) bool {
	if p.client == nil || dest == "" {
		return false
	}
	c, err := p.client.TransportLayer().GetConnection(transport, dest)
	return err == nil && c != nil
}

// relayHop reaches a flow another replica holds, through its flow route, signed
// for req (flowtoken.go). Without one (status written by a release that did not
// relay), the flow is out of reach.
func (p *Proxy) relayHop(u sip.Uri, t Target, aor string, req *sip.Request) hop {
	var rt sip.Uri
	if t.FlowRoute == "" || sip.ParseUri(t.FlowRoute, &rt) != nil || rt.Host == "" {
		return hop{URI: u, Fail: StatusFlowFailed}
	}
	p.signFlowRoute(&rt, req, aor, p.now())
	transport := uriTransport(&rt)
	return hop{URI: u, Dest: uriHostPort(&rt, transport), Transport: transport, Route: []string{rt.String()}}
}

// FlowAlive reports whether this replica still holds the connection a binding
// registered over: false for a connection-bound flow whose device went away (or
// reconnected elsewhere). status.Writer.Reconcile asks it.
func (p *Proxy) FlowAlive(b location.Binding) bool {
	return p.hasConnection(strings.ToUpper(b.Transport), b.Source)
}

// failedFlow reports whether t is a flow of ours whose connection is gone.
func (l *Targets) failedFlow(t *Target) bool {
	transport := strings.ToUpper(t.Transport)
	return t.Local && t.Outbound && t.Path == "" && transport != "" && transport != transportUDP &&
		l.FlowAlive != nil && !l.FlowAlive(transport, t.Source)
}

// dropFailedFlows takes out of ours (this replica's targets) each flow whose
// connection is gone while another flow of its device remains: one of ours that
// works, or one another replica holds (theirs). RFC 5626 §5.3: a failed flow is
// not used while the instance has another. A failed flow another replica holds
// the same binding of (the device reconnected there) leaves our table too, so
// that our status writes no longer claim it; with no other flow left it stays,
// and its branch ends as 430. The cost falls on requests to a failed flow only.
func (l *Targets) dropFailedFlows(aor string, ours, theirs []Target) []Target {
	var failed []Target
	for i := range ours {
		if l.failedFlow(&ours[i]) {
			failed = append(failed, ours[i])
		}
	}
	if len(failed) == 0 {
		return ours
	}
	out := ours[:0:0]
	for _, t := range ours {
		if !l.failedFlow(&t) || !hasOtherFlow(t, ours, theirs, l.failedFlow) {
			out = append(out, t)
		}
	}
	for _, f := range failed {
		if movedTo(f, theirs) {
			l.Table.RemoveIf(aor, func(b *location.Binding) bool {
				return b.Outbound() && b.Instance == f.Instance && b.RegID == f.RegID && b.Source == f.Source
			})
		}
	}
	return out
}

// hasOtherFlow reports whether f's device has a flow besides f: one of ours
// that did not fail, or one another replica holds.
func hasOtherFlow(f Target, ours, theirs []Target, failed func(*Target) bool) bool {
	for i := range ours {
		o := &ours[i]
		if o.Outbound && o.Instance == f.Instance && o.RegID != f.RegID && !failed(o) {
			return true
		}
	}
	for _, o := range theirs {
		if o.Outbound && o.Instance == f.Instance {
			return true
		}
	}
	return false
}

// movedTo reports whether another replica holds the flow f (same instance and reg-id).
func movedTo(f Target, theirs []Target) bool {
	for _, o := range theirs {
		if o.Outbound && o.Instance == f.Instance && o.RegID == f.RegID {
			return true
		}
	}
	return false
}

// toFlow sends a request another replica relayed (its route to us already
// popped) to our binding of aor whose Contact is the Request-URI (heldHop): over
// the device's flow or connection. It answers 430 when we hold no such binding
// any more, and 480 when a WebSocket device without outbound lost its connection
// (there is no other way to it).
func (p *Proxy) toFlow(req *sip.Request, tx sip.ServerTransaction, aor string, mf uint32, hash string) string {
	h, found, ok := p.heldHop(req, aor)
	switch {
	case !found:
		p.reply(req, tx, StatusFlowFailed, "Flow Failed")
		return OutcomeUnavailable
	case !ok:
		p.reply(req, tx, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return OutcomeUnavailable
	}
	// We record-route too: the device's requests in the dialog come over its
	// flow, to us, and must find their way on; the caller's must reach us, who
	// hold the flow.
	c := p.newCall(req, tx, mf, hash, p.recordRoutes(req))
	c.edge = true
	return c.run([]hop{h})
}

// oneFlowPerInstance keeps, of the outbound targets of one device instance, only
// the first (this replica's come first): a request goes to one flow of a device,
// not to each of its redundant flows (RFC 5626 §5.3).
func oneFlowPerInstance(ts []Target) []Target {
	out := ts[:0]
	for i, t := range ts {
		dup := false
		if t.Outbound {
			for _, o := range ts[:i] {
				if o.Outbound && o.Instance == t.Instance {
					dup = true
					break
				}
			}
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

// uriHostPort is a URI's host:port, with the transport's default port.
func uriHostPort(u *sip.Uri, transport string) string {
	port := u.Port
	if port == 0 {
		port = sip.DefaultPort(transport)
	}
	return strings.Trim(u.Host, "[]") + ":" + strconv.Itoa(port)
}
