package proxy

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/location"
)

// Connection-bound bindings without outbound. A desk phone on TCP, TLS or
// WebSocket that registers without reg-id is reached over the connection its
// REGISTER came on, as a flow is: behind a NAT its Contact takes no connection,
// and a TLS phone has no certificate a public CA signed. Only the replica that
// accepted the connection holds it, so it publishes its flow route for such a
// binding too (status.toAPI), and another replica relays requests there with a
// flow token, as for a flow (flow.go). Unlike a flow's, a lost connection is no
// 430 (an outbound notion): the holder tries the Contact over a new connection
// (RFC 3261 §16.6), as it does for requests it routes itself (destination).

// connectionBound reports whether t is reached over a connection only the
// replica holding it has (location.Binding.ConnectionBound).
func (t Target) connectionBound() bool {
	return t.Path == "" && t.Transport != "" && !strings.EqualFold(t.Transport, transportUDP)
}

// relayedElsewhere reports whether a request for t, a binding without outbound,
// is relayed to the replica holding its connection: t is connection-bound, held
// by another replica, which named a usable route to itself. Without one (status
// written by a release that did not publish it) t is called at its Contact.
func relayedElsewhere(t Target) bool {
	if t.Local || t.Outbound || !t.connectionBound() || t.FlowRoute == "" {
		return false
	}
	var rt sip.Uri
	return sip.ParseUri(t.FlowRoute, &rt) == nil && rt.Host != ""
}

// localTarget is the target of b, a binding this replica (named replica) holds.
func localTarget(b *location.Binding, replica string) Target {
	return Target{URI: b.URI, Source: b.Source, Transport: b.Transport, Registrar: replica, Local: true,
		Outbound: b.Outbound(), Instance: b.Instance, RegID: b.RegID, Path: b.Path, Q: b.Q}
}

// heldHop is the hop of a request another replica relayed to us for aor, to
// our binding of aor whose Contact is the Request-URI: the hop we would give it
// for a request of our own (hopFor), so only bindings of the AOR the flow token
// names are reached. Several bindings may share the Contact (a device's flows):
// one whose connection is up is taken first (RFC 5626 §5.3). found is false when
// we hold no such binding; ok is false when its hop goes nowhere (a WebSocket
// device without outbound whose connection is gone).
func (p *Proxy) heldHop(req *sip.Request, aor string) (h hop, found, ok bool) {
	uri := req.Recipient.String()
	up := false
	for _, b := range p.targets.Table.Lookup(aor, p.now()) {
		if !location.URIEqual(b.URI, uri) {
			continue
		}
		found = true
		bh, bok := p.hopFor(localTarget(&b, p.targets.Replica), aor, req)
		if !bok {
			continue
		}
		bh.URI = req.Recipient // as the relaying replica sent it
		// Over its connection (or UDP source): neither failed, nor its Contact.
		bup := bh.Fail == 0 && bh.Dest == b.Source
		if !ok || bup && !up {
			h, ok, up = bh, true, bup
		}
		if up {
			break
		}
	}
	return h, found, ok
}
