package siptest

import (
	"fmt"
	"hash/fnv"
	"net"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Patience bounds how long Expect and ExpectEach wait.
const Patience = 20 * time.Second

// Expect returns the next request of method the phone receives. Retransmissions of
// the requests in seen are skipped (an INVITE comes again until its 1xx arrives);
// anything else fails the test.
func (p *Phone) Expect(method sip.RequestMethod, seen ...Received) Received {
	p.t.Helper()
	return p.ExpectEach([]sip.RequestMethod{method}, seen...)[method]
}

// ExpectEach returns one new request of each method, in whatever order they come;
// retransmissions of seen are skipped, anything else fails the test.
func (p *Phone) ExpectEach(methods []sip.RequestMethod, seen ...Received) map[sip.RequestMethod]Received {
	p.t.Helper()
	got := make(map[sip.RequestMethod]Received, len(methods))
	deadline := time.Now().Add(Patience)
	for len(got) < len(methods) {
		m, err := p.Next(time.Until(deadline))
		if err != nil {
			p.t.Fatalf("waiting for %v (got %d of them): %v", methods, len(got), err)
		}
		req, ok := m.Message.(*sip.Request)
		if ok && IsRetransmission(req, seen...) {
			continue
		}
		if _, dup := got[methodOf(req)]; ok && slices.Contains(methods, req.Method) && !dup {
			r := Received{Request: req, From: m.From}
			got[req.Method] = r
			seen = append(seen, r)
			continue
		}
		p.t.Fatalf("waiting for %v, the phone got:\n%s", methods, m.Raw)
	}
	return got
}

func methodOf(req *sip.Request) sip.RequestMethod {
	if req == nil {
		return ""
	}
	return req.Method
}

// IsRetransmission reports whether req is a copy of one of seen: the same method,
// CSeq and branch.
func IsRetransmission(req *sip.Request, seen ...Received) bool {
	for _, s := range seen {
		if s.Method == req.Method && s.CSeq().SeqNo == req.CSeq().SeqNo && Branch(s.Request) == Branch(req) {
			return true
		}
	}
	return false
}

// Branch is the branch of m's top Via.
func Branch(m sip.Message) string {
	var via *sip.ViaHeader
	switch m := m.(type) {
	case *sip.Request:
		via = m.Via()
	case *sip.Response:
		via = m.Via()
	}
	if via == nil {
		return ""
	}
	b, _ := via.Params.Get("branch")
	return b
}

// Reply sends a plain response to r back where it came from.
func (p *Phone) Reply(r Received, code int, reason string) {
	p.t.Helper()
	p.SendResponse(sip.NewResponseFromRequest(r.Request, code, reason, nil), r.From)
}

// Answer responds to r as a device does: with its To tag of the dialog and, in an
// 18x or 2xx to anything but CANCEL, its Contact.
func (p *Phone) Answer(r Received, code int, reason string) {
	p.t.Helper()
	p.SendResponse(p.Response(r.Request, code, reason), r.From)
}

// Response is the phone's response to req, as Answer sends it.
func (p *Phone) Response(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil && !req.To().Params.Has("tag") {
		to.Params.Add("tag", dialogTag(req))
	}
	if code > 100 && code < 300 && !req.IsCancel() {
		res.AppendHeader(sip.NewHeader("Contact", p.ContactValue()))
	}
	return res
}

// dialogTag is the phone's To tag in the dialog req starts: the same in each of
// its responses (RFC 3261 §8.2.6.2) and in its own requests of the dialog.
func dialogTag(req *sip.Request) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(req.CallID().Value()))
	return fmt.Sprintf("kit-%08x", h.Sum32())
}

// NextRequest returns the next request the phone receives within the given time,
// passing over responses.
func (p *Phone) NextRequest(within time.Duration) (Received, error) {
	deadline := time.Now().Add(within)
	for {
		m, err := p.Next(time.Until(deadline))
		if err != nil {
			return Received{}, err
		}
		if req, ok := m.Message.(*sip.Request); ok {
			return Received{Request: req, From: m.From}, nil
		}
	}
}

// SendResponse sends res to to (a connection's peer, or the Target, when nil),
// failing the test if it cannot.
func (p *Phone) SendResponse(res *sip.Response, to net.Addr) {
	p.t.Helper()
	if err := p.SendTo([]byte(res.String()), to); err != nil {
		p.t.Fatalf("while answering %d: %v", res.StatusCode, err)
	}
}
