package udpfront

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// reconfirming answers like counting, but 407 for a branch with "refuse" in it, and
// marks what Reconfirm answered.
type reconfirming struct {
	counting
	reconfirmed atomic.Int64
}

func (r *reconfirming) handle(req *sip.Request, n int) *sip.Response {
	if b, _ := req.Via().Params.Get("branch"); strings.Contains(b, "refuse") {
		r.n.Add(1)
		return sip.NewResponseFromRequest(req, sip.StatusProxyAuthRequired, "Proxy Authentication Required", nil)
	}
	return r.counting.handle(req, n)
}

func (r *reconfirming) reconfirm(req *sip.Request, _ int) *sip.Response {
	r.reconfirmed.Add(1)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("X-Reconfirmed", "yes"))
	return res
}

// pushOut sends credentialed REGISTERs on new branches until the one-entry cache has
// let every earlier answer go.
func pushOut(t *testing.T, p *siptest.Phone) {
	t.Helper()
	for _, b := range []string{"z9hG4bK-push1", "z9hG4bK-push2"} {
		p.Send(register(p.Port(), true, true, b))
		receive(t, p)
	}
}

// A retransmission of a credentialed REGISTER answered 200 OK, once the cache no
// longer holds the answer, is answered by Reconfirm rather than handled again (where
// its spent nonce count would earn a 407 the phone did not deserve).
func TestRetransmissionPastTheCacheIsReconfirmed(t *testing.T) {
	h := &reconfirming{}
	obs := &counts{}
	_, addr := startFront(t, Config{Handle: h.handle, Reconfirm: h.reconfirm, Retransmissions: 1, Observer: obs})
	p := newPhone(t, addr)
	req := register(p.Port(), true, true, "z9hG4bK-lost")
	p.Send(req)
	receive(t, p)
	pushOut(t, p)

	p.Send(req)
	if res := receive(t, p); header(res, "X-Reconfirmed") != "yes" {
		t.Fatalf("a retransmission past the cache was not reconfirmed:\n%s", res)
	}
	if n := h.n.Load(); n != 3 {
		t.Errorf("the handler saw %d requests, want 3: the retransmission must not be handled again", n)
	}
	if n := obs.retransmissions.Load(); n != 1 {
		t.Errorf("retransmissions counted: %d, want 1", n)
	}
	// Once reconfirmed, the answer is in the cache again.
	p.Send(req)
	if res := receive(t, p); header(res, "X-Reconfirmed") != "yes" || h.reconfirmed.Load() != 1 {
		t.Errorf("a second retransmission was not served from the cache (reconfirmed %d times):\n%s", h.reconfirmed.Load(), res)
	}
}

// Only a 200 OK is reconfirmed, only to the address it went to, and only for the same
// bytes: anything else is handled as a new request.
func TestOnlyTheSameAcceptedRequestIsReconfirmed(t *testing.T) {
	h := &reconfirming{}
	_, addr := startFront(t, Config{Handle: h.handle, Reconfirm: h.reconfirm, Retransmissions: 1})
	a, b := newPhone(t, addr), newPhone(t, addr)
	// Without rport: every answer goes to a's Via port, whoever sent the copy.
	refused := register(a.Port(), false, true, "z9hG4bK-refuse")
	accepted := register(a.Port(), false, true, "z9hG4bK-accepted")
	a.Send(refused)
	receive(t, a)
	a.Send(accepted)
	receive(t, a)
	pushOut(t, a)

	a.Send(refused)
	if res := receive(t, a); !strings.HasPrefix(res, "SIP/2.0 407") {
		t.Errorf("a retransmission of a refused REGISTER was not handled again:\n%s", res)
	}
	b.Send(accepted)
	if res := receive(t, a); header(res, "X-Reconfirmed") != "" {
		t.Errorf("a copy from another address was reconfirmed:\n%s", res)
	}
	// The same transaction with other bytes (another nonce count, say).
	a.Send(strings.Replace(accepted, "nc=00000001", "nc=00000002", 1))
	if res := receive(t, a); header(res, "X-Reconfirmed") != "" {
		t.Errorf("a changed request on an accepted branch was reconfirmed:\n%s", res)
	}
	if n := h.reconfirmed.Load(); n != 0 {
		t.Errorf("reconfirmed %d times, want none", n)
	}
}

// The set forgets in generations: a hash lasts at least one window and at most two,
// and a full generation makes way early, so memory is bounded whatever the rate.
func TestAcceptedSetForgetsInGenerations(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newAcceptedSet(2, func() time.Time { return now })
	from := netip.MustParseAddrPort("192.0.2.10:5060")
	sum := func(i int) uint64 { return s.sum([]byte{byte(i)}, from) }
	s.add(sum(1))
	now = now.Add(acceptedWindow - time.Second)
	if !s.has(sum(1)) {
		t.Fatal("forgot within the window")
	}
	now = now.Add(time.Second)
	s.add(sum(2)) // the window is over: 1 goes to the old generation
	if !s.has(sum(1)) || !s.has(sum(2)) {
		t.Fatal("the old generation is not consulted")
	}
	s.add(sum(3))
	s.add(sum(4)) // the young generation (2, 3) is full: 1 is forgotten
	if s.has(sum(1)) {
		t.Error("a full generation did not make way")
	}
	if !s.has(sum(2)) || !s.has(sum(4)) {
		t.Error("forgot more than the oldest generation")
	}
	if other := s.sum([]byte{2}, netip.MustParseAddrPort("192.0.2.10:5061")); s.has(other) {
		t.Error("the same bytes from another port count as accepted")
	}
}
