package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// The transports a hop uses, as Via and sipgo spell them.
const (
	transportUDP = "UDP"
	transportTCP = "TCP"
	transportTLS = "TLS"
	transportWS  = "WS"
	transportWSS = "WSS"
)

// hop is where one forwarded copy of a request goes.
type hop struct {
	// URI is the Request-URI of the copy.
	URI sip.Uri
	// Dest is host:port to send to; "" lets sipgo follow the top Route, else the
	// Request-URI.
	Dest string
	// Transport is UDP, TCP, TLS (or WS, WSS over a device's flow).
	Transport string
	// Route is the pre-loaded route set (URIs, top first): a Path, or the route to
	// the replica holding the device's flow.
	Route []string
	// Fail, when set, is the status the branch ends with unsent: the device's flow
	// is gone (430), or its route unusable.
	Fail int
	// Q is the target's q, none for a hop not to an AOR's binding: which group
	// of the search it is tried in (fork.go).
	Q location.Q
}

// hopFor turns a location target of aor into a hop for req.
func (p *Proxy) hopFor(t Target, aor string, req *sip.Request) (hop, bool) {
	var u sip.Uri
	if err := sip.ParseUri(t.URI, &u); err != nil || u.Host == "" {
		return hop{}, false
	}
	switch {
	case t.Path != "":
		return pathHop(u, t.Path), true
	case t.Outbound && t.Local:
		return p.flowHop(u, t), true
	case t.Outbound, relayedElsewhere(t):
		// Another replica holds the connection: relayed to it (connection.go).
		return p.relayHop(u, t, aor, req), true
	}
	dest, transport := p.destination(t)
	if dest == "" && webSocket(transport) {
		return hop{}, false
	}
	return hop{URI: u, Dest: dest, Transport: transport}, true
}

// destination is t.Destination, except that a device whose TCP or TLS connection
// to this replica is gone is reached by a new connection to its Contact: the
// REGISTER's source port was the device's side of the lost connection, where
// nothing listens. A device over WebSocket cannot be: its destination is "".
func (p *Proxy) destination(t Target) (hostport, transport string) {
	dest, transport := t.Destination()
	if !t.Local || transport == transportUDP || dest != t.Source || p.client == nil {
		return dest, transport
	}
	if _, err := p.client.TransportLayer().GetConnection(transport, dest); err != nil {
		if webSocket(transport) {
			return "", transport
		}
		return contactHostPort(t.URI, transport), transport
	}
	return dest, transport
}

// uriTransport is the transport a URI asks for: its transport parameter, else
// TLS for a sips: URI (RFC 5630), else UDP.
func uriTransport(u *sip.Uri) string {
	if t, ok := u.UriParams.Get("transport"); ok && t != "" {
		return strings.ToUpper(t)
	}
	if strings.EqualFold(u.Scheme, "sips") {
		return transportTLS
	}
	return transportUDP
}

// branchRequest is the copy of in forwarded to h (RFC 3261 §16.6): new
// Request-URI, Max-Forwards mf, our Record-Route when rr, our Via with a branch
// carrying the loop hash.
func (p *Proxy) branchRequest(in *sip.Request, h hop, mf uint32, hash string, rr bool) *sip.Request {
	r := in.Clone()
	r.Recipient = *h.URI.Clone()
	// Clone shares the Max-Forwards header with in: replace, do not decrement.
	m := sip.MaxForwardsHeader(mf)
	if r.MaxForwards() != nil {
		r.ReplaceHeader(&m)
	} else {
		r.AppendHeader(&m)
	}
	markReceived(r, in.Source())
	if rr {
		// Two entries when the sides use different transports (RFC 5658): the
		// callee's route set starts with the top one, the caller's with the other.
		inbound := strings.ToUpper(in.Transport())
		if !strings.EqualFold(inbound, h.Transport) {
			r.PrependHeader(p.self.RecordRoute(inbound))
		}
		r.PrependHeader(p.self.RecordRoute(h.Transport))
	}
	r.PrependHeader(p.self.Via(h.Transport, Branch(hash)))
	addRoutes(r, h)
	p.setRoute(r, h)
	return r
}

// addRoutes appends h's pre-loaded route set (a Path, or the route to the replica
// holding a flow) to r.
func addRoutes(r *sip.Request, h hop) {
	for _, rt := range h.Route {
		var u sip.Uri
		if sip.ParseUri(rt, &u) == nil {
			r.AppendHeader(&sip.RouteHeader{Address: u})
		}
	}
}

// setRoute sets where r leaves from and goes to.
func (p *Proxy) setRoute(r *sip.Request, h hop) {
	r.SetTransport(h.Transport)
	r.SetDestination(h.Dest)
	r.Laddr = sip.Addr{}
	if h.Transport == transportUDP && p.self.UDPLocal.IP != nil {
		p.self.UDPLocal.Copy(&r.Laddr)
	}
}

// markReceived adds received and rport to the previous hop's Via as RFC 3261
// §18.2.1 and RFC 3581 ask: the responses we relay go back where the request came
// from, and the next hops see it too.
func markReceived(r *sip.Request, source string) {
	via := r.Via()
	host, port, err := net.SplitHostPort(source)
	if via == nil || err != nil {
		return
	}
	if via.Params == nil {
		via.Params = sip.NewParams()
	}
	// "; rport" and " received" count (RFC 3261 §25.1), and are set in place.
	set := func(name, v string) {
		if _, i := sipparse.Param(via.Params, name); i >= 0 {
			via.Params[i] = sip.HeaderKV{K: name, V: v}
		} else {
			via.Params.Add(name, v)
		}
	}
	if !strings.EqualFold(strings.Trim(via.Host, "[]"), host) {
		set("received", host)
	}
	if v, i := sipparse.Param(via.Params, "rport"); i >= 0 && v == "" {
		set("rport", port)
		set("received", host)
	}
}

// cancelFor builds the CANCEL of a forwarded INVITE (RFC 3261 §9.1): same
// Request-URI, top Via, Route, Call-ID, From, To and CSeq number, to the same
// place over the same transport.
func cancelFor(inv *sip.Request) *sip.Request {
	c := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	c.SipVersion = inv.SipVersion
	c.AppendHeader(sip.HeaderClone(inv.Via()))
	for _, h := range inv.GetHeaders("Route") {
		c.AppendHeader(sip.HeaderClone(h))
	}
	mf := sip.MaxForwardsHeader(DefaultMaxForwards)
	c.AppendHeader(&mf)
	c.AppendHeader(sip.HeaderClone(inv.From()))
	c.AppendHeader(sip.HeaderClone(inv.To()))
	c.AppendHeader(sip.HeaderClone(inv.CallID()))
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	c.SetBody(nil)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	inv.Laddr.Copy(&c.Laddr)
	return c
}

// statelessBranch is the branch of a request forwarded without a transaction (an
// ACK for a 2xx): the same for every retransmission of it (RFC 3261 §16.11).
func statelessBranch(in *sip.Request) string {
	b := ""
	if via := in.Via(); via != nil {
		b, _ = sipparse.Param(via.Params, "branch")
		b += via.Host + strconv.Itoa(via.Port)
	}
	return branchPrefix + "sl" + shortHash(b)
}

// errTooLarge: a request exceeds what UDP carries (sipgo refuses datagrams over
// 1300 bytes) and cannot go over TCP either.
var errTooLarge = errors.New("message too large for UDP, and the target takes no TCP")

// connectTimeout bounds a connection a request opens (TCP connect, TLS handshake):
// a device behind a NAT may never answer it, and a peer that accepts and stays
// silent would otherwise hold the branch for good (sipgo's TLS handshake has no
// deadline of its own).
const connectTimeout = 3 * time.Second

// udpOnly reports whether the device pinned UDP in its URI (transport=udp): a
// request too large for UDP cannot reach it.
func udpOnly(u *sip.Uri) bool {
	t, ok := u.UriParams.Get("transport")
	return ok && strings.EqualFold(t, "udp")
}

// resendOverTCP sends the branch a UDP datagram could not carry over TCP to the
// same place, with our Via and Record-Route saying TCP (RFC 3261 §18.1.1: a
// request over 1300 bytes goes over a congestion-controlled transport). It fails
// with errTooLarge when the device pinned UDP or takes no TCP connection.
func (c *call) resendOverTCP(b *branch) (sip.ClientTransaction, error) {
	if udpOnly(&b.hop.URI) || c.p.self.TCPPort == 0 {
		return nil, errTooLarge
	}
	h := b.hop
	h.Transport = transportTCP
	req := c.p.branchRequest(c.req, h, c.mf, c.hash, c.rr)
	c.mu.Lock()
	b.hop, b.req = h, req
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	// The context bounds the connection only; the transaction lives by its timers.
	tx, err := c.p.txs.Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%w: over TCP to %s: %w", errTooLarge, req.Destination(), err)
	}
	return tx, nil
}
