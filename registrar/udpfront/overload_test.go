package udpfront

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// gated answers as the registrar does, 200 OK to credentials and 401 without, but
// holds the first request until released: the front end's one reader is busy, and
// what the test sends meanwhile waits in the socket's queue.
type gated struct {
	handled  atomic.Int64
	entered  chan struct{}
	release  chan struct{}
	holdOnce sync.Once
}

func newGated() *gated {
	return &gated{entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gated) handle(req *sip.Request, _ int) *sip.Response {
	g.holdOnce.Do(func() {
		close(g.entered)
		<-g.release
	})
	g.handled.Add(1)
	if digest.CarriesCredentials(req) {
		return sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	}
	return sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
}

// hold has p send a REGISTER with credentials and waits until the handler holds it:
// what is sent next waits in the socket's queue.
func (g *gated) hold(t *testing.T, p *siptest.Phone) {
	t.Helper()
	p.Send(register(p.Port(), true, true, "z9hG4bK-first"))
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first REGISTER never reached the handler")
	}
}

// eachSocketMode runs test with the readers on descriptors of their own and sharing
// the listener.
func eachSocketMode(t *testing.T, test func(t *testing.T, shared bool)) {
	for _, mode := range []struct {
		name   string
		shared bool
	}{{"own descriptor", false}, {"shared listener", true}} {
		t.Run(mode.name, func(t *testing.T) { test(t, mode.shared) })
	}
}

// shiftedClock is the wall clock plus an offset the test moves.
type shiftedClock struct{ offset atomic.Int64 }

func (c *shiftedClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// TestOverloadShedsChallengesAndAnswersCredentials floods a front end whose handler
// is stuck: once the queued REGISTERs are older than ShedAge, those without
// credentials get 503 with Retry-After and no challenge, those with credentials are
// all answered by the handler, and once the queue is fresh again a REGISTER without
// credentials is challenged as usual.
func TestOverloadShedsChallengesAndAnswersCredentials(t *testing.T) {
	eachSocketMode(t, func(t *testing.T, shared bool) {
		h := newGated()
		clock := &shiftedClock{}
		// Every shed REGISTER answered: the refusal budget has a test of its own.
		_, addr := startFront(t, Config{Handle: h.handle, Readers: 1, SharedSocket: shared, now: clock.now,
			SourceRefusals: -1, Refusals: -1})
		p := newPhone(t, addr)
		h.hold(t, p)

		const challenges, credentialed = 20, 10
		for i := range challenges + credentialed {
			// Interleaved, as phones send them.
			auth := i%3 == 2
			p.Send(register(p.Port(), true, auth, fmt.Sprintf("z9hG4bK-flood-%d", i)))
		}
		// Everything queued has now waited a second, ten times ShedAge.
		clock.offset.Store(int64(time.Second))
		close(h.release)

		if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 200 OK") || header(res, "Call-ID") != "z9hG4bK-first@phone" {
			t.Fatalf("the held REGISTER was answered:\n%s", res)
		}
		for range challenges + credentialed {
			res := receive(t, p)
			callID := header(res, "Call-ID")
			var i int
			if _, err := fmt.Sscanf(callID, "z9hG4bK-flood-%d@phone", &i); err != nil {
				t.Fatalf("unexpected response:\n%s", res)
			}
			if i%3 == 2 {
				if !strings.HasPrefix(res, "SIP/2.0 200 OK") {
					t.Errorf("REGISTER %d with credentials was not answered by the handler:\n%s", i, res)
				}
				continue
			}
			if !strings.HasPrefix(res, "SIP/2.0 503 ") {
				t.Errorf("REGISTER %d without credentials, queued past ShedAge, was not shed:\n%s", i, res)
				continue
			}
			if s, err := strconv.Atoi(header(res, "Retry-After")); err != nil || s < 1 || s > retryAfterSeconds {
				t.Errorf("503 to REGISTER %d: Retry-After %q, want 1 to %d seconds", i, header(res, "Retry-After"), retryAfterSeconds)
			}
			if header(res, "WWW-Authenticate") != "" {
				t.Errorf("503 to REGISTER %d carries a challenge", i)
			}
			if !strings.Contains(header(res, "To"), "tag=") {
				t.Errorf("503 to REGISTER %d has no To tag (RFC 3261 §8.2.6.2)", i)
			}
		}
		if n := h.handled.Load(); n != 1+credentialed {
			t.Errorf("the handler saw %d REGISTERs, want %d: the first and every one with credentials", n, 1+credentialed)
		}

		// The load is gone: a fresh REGISTER without credentials is challenged.
		clock.offset.Store(0)
		p.Send(register(p.Port(), true, false, "z9hG4bK-after"))
		if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 401 ") {
			t.Errorf("after the flood, a REGISTER without credentials got:\n%s", res)
		}
	})
}

// heldGate holds every REGISTER whose Call-ID starts with "hold" in the handler
// until the test lets it go, one at a time; the others are answered at once, 200
// with credentials and 401 without.
type heldGate struct{ entered, release chan struct{} }

func newHeldGate() *heldGate {
	return &heldGate{entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *heldGate) handle(req *sip.Request, _ int) *sip.Response {
	if strings.HasPrefix(req.CallID().Value(), "hold") {
		g.entered <- struct{}{}
		<-g.release
	}
	if digest.CarriesCredentials(req) {
		return sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	}
	return sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
}

// holdReader has p send a REGISTER with credentials that the handler holds, and
// waits until it does: what p sends next waits in the socket's queue.
func (g *heldGate) holdReader(t *testing.T, p *siptest.Phone, branch string) {
	t.Helper()
	p.Send(register(p.Port(), true, true, branch))
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the held REGISTER never reached the handler")
	}
}

// TestAStallsBacklogIsChallengedAStandingWaitShed stalls the one reader twice with
// REGISTERs without credentials queued behind it. After the first stall they have
// waited twice ShedAge, a backlog drained at once: each is challenged, not refused.
// After the second the waits have stood past ShedAge for twice ShedAge of the
// reader's time, a queue it is not draining: each is answered 503. A fresh REGISTER
// then is challenged again.
func TestAStallsBacklogIsChallengedAStandingWaitShed(t *testing.T) {
	eachSocketMode(t, func(t *testing.T, shared bool) {
		g := newHeldGate()
		clock := &shiftedClock{}
		_, addr := startFront(t, Config{Handle: g.handle, Readers: 1, SharedSocket: shared, now: clock.now,
			SourceRefusals: -1, Refusals: -1})
		p := newPhone(t, addr)

		stall := func(held string, after time.Duration) map[string]string {
			t.Helper()
			g.holdReader(t, p, held)
			const queued = 6
			for i := range queued {
				p.Send(register(p.Port(), true, false, fmt.Sprintf("queued-after-%s-%d", held, i)))
			}
			clock.offset.Store(int64(after))
			g.release <- struct{}{}
			got := map[string]string{}
			for range queued + 1 {
				res := receive(t, p)
				got[strings.TrimSuffix(header(res, "Call-ID"), "@phone")] = strings.SplitN(res, "\r\n", 2)[0]
			}
			return got
		}

		for callID, status := range stall("hold-1", 2*DefaultShedAge) {
			if want := "SIP/2.0 401 Unauthorized"; strings.Contains(callID, "queued") && status != want {
				t.Errorf("%s, queued behind a stall of twice ShedAge: %q, want %q", callID, status, want)
			}
		}
		for callID, status := range stall("hold-2", 4*DefaultShedAge) {
			if want := "SIP/2.0 503 Service Unavailable"; strings.Contains(callID, "queued") && status != want {
				t.Errorf("%s, queued while the waits stood past ShedAge: %q, want %q", callID, status, want)
			}
		}
		clock.offset.Store(0)
		p.Send(register(p.Port(), true, false, "fresh"))
		if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 401 ") {
			t.Errorf("after the queue drained, a REGISTER without credentials got:\n%s", res)
		}
	})
}
