package udpfront

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// refusalCounts counts what the front end sheds, answered and not.
type refusalCounts struct {
	counts
	shed, unanswered atomic.Int64
}

func (c *refusalCounts) Shed()           { c.shed.Add(1) }
func (c *refusalCounts) ShedUnanswered() { c.unanswered.Add(1) }

// stoppedClock is the wall clock until the test stops it at a time of its choice:
// no refusal budget refills while it stands.
type stoppedClock struct{ at atomic.Int64 }

func (c *stoppedClock) now() time.Time {
	if at := c.at.Load(); at != 0 {
		return time.Unix(0, at)
	}
	return time.Now()
}

// phoneReplies is what one phone got before the answer to its last REGISTER.
type phoneReplies struct{ unavailable, ok int }

// repliesUntilLast has p send a last REGISTER, with credentials (always answered,
// however old), and reads p's responses up to the one to it: one reader answers in
// the socket's order, so nothing the front end answers to what p sent before comes
// later.
func repliesUntilLast(t *testing.T, p *siptest.Phone) phoneReplies {
	t.Helper()
	p.Send(register(p.Port(), true, true, "z9hG4bK-last"))
	var got phoneReplies
	for {
		res := receive(t, p)
		if header(res, "Call-ID") == "z9hG4bK-last@phone" {
			if !strings.HasPrefix(res, "SIP/2.0 200 ") {
				t.Errorf("a REGISTER with credentials got:\n%s", res)
			}
			return got
		}
		switch {
		case strings.HasPrefix(res, "SIP/2.0 503 "):
			got.unavailable++
			if header(res, "Retry-After") == "" {
				t.Errorf("503 without Retry-After:\n%s", res)
			}
		case strings.HasPrefix(res, "SIP/2.0 200 "):
			got.ok++
		default:
			t.Errorf("unexpected response:\n%s", res)
		}
	}
}

// shedQueue holds the front end's one reader with a REGISTER from holder, has
// every phone send its REGISTERs (send), then lets the reader go with the clock
// stopped a second later: every queued REGISTER waited ten times ShedAge, and no
// refusal budget refills while the queue drains, nor after. It returns once obs
// has counted shed REGISTERs shed, answered or not: the queue has drained.
func shedQueue(t *testing.T, h *gated, clock *stoppedClock, obs *refusalCounts, shed int, holder *siptest.Phone, send func()) {
	t.Helper()
	h.hold(t, holder)
	send()
	clock.at.Store(time.Now().Add(time.Second).UnixNano())
	close(h.release)
	if res := receive(t, holder); !strings.HasPrefix(res, "SIP/2.0 200 OK") {
		t.Fatalf("the held REGISTER was answered:\n%s", res)
	}
	for deadline := time.Now().Add(5 * time.Second); obs.shed.Load()+obs.unanswered.Load() < int64(shed); {
		if time.Now().After(deadline) {
			t.Fatalf("%d REGISTERs shed, %d dropped unanswered, want %d in all", obs.shed.Load(), obs.unanswered.Load(), shed)
		}
		runtime.Gosched()
	}
}

// TestAFloodFromOneSourceLeavesOthersTheirRefusals queues, behind a busy reader, a
// flood of REGISTERs from one address, a quarter of them with credentials, and a
// few without from another address. Past ShedAge all those without credentials are
// shed: the flooding address gets no more 503s than its budget, the rest of its
// flood is dropped unanswered and counted, every REGISTER with credentials is
// answered by the handler, and the other address still gets a 503 for each of its
// own.
func TestAFloodFromOneSourceLeavesOthersTheirRefusals(t *testing.T) {
	const perSource, flood, others = 5, 24, 3
	h, clock, obs := newGated(), &stoppedClock{}, &refusalCounts{}
	_, addr := startFront(t, Config{Handle: h.handle, Readers: 1, now: clock.now, SourceRefusals: perSource, Observer: obs})
	flooder := newPhone(t, addr)
	other := newPhoneAt(t, net.IPv4(127, 0, 0, 2), addr)

	credentialed := 0
	shedQueue(t, h, clock, obs, flood-flood/4+others, flooder, func() {
		for i := range flood {
			auth := i%4 == 3
			if auth {
				credentialed++
			}
			flooder.Send(register(flooder.Port(), true, auth, fmt.Sprintf("z9hG4bK-flood-%d", i)))
		}
		for i := range others {
			other.Send(register(other.Port(), true, false, fmt.Sprintf("z9hG4bK-other-%d", i)))
		}
	})
	fromFlooder, fromOther := repliesUntilLast(t, flooder), repliesUntilLast(t, other)
	if fromFlooder.unavailable != perSource {
		t.Errorf("the flooding address got %d 503s for %d REGISTERs shed, want its budget of %d",
			fromFlooder.unavailable, flood-credentialed, perSource)
	}
	if fromFlooder.ok != credentialed {
		t.Errorf("%d of the flood's %d REGISTERs with credentials were answered 200", fromFlooder.ok, credentialed)
	}
	if fromOther.unavailable != others {
		t.Errorf("the other address got %d 503s for its %d REGISTERs, want every one: the flood took its budget", fromOther.unavailable, others)
	}
	if want := int64(flood - credentialed - perSource); obs.unanswered.Load() != want {
		t.Errorf("%d shed REGISTERs counted dropped unanswered, want %d", obs.unanswered.Load(), want)
	}
	if want := int64(perSource + others); obs.shed.Load() != want {
		t.Errorf("%d shed REGISTERs counted answered 503, want %d", obs.shed.Load(), want)
	}
}

// TestRefusalsForAllSourcesAreBounded sheds REGISTERs from three addresses, each
// within its own budget: all of them together get no more 503s than the budget
// for all, and the rest are dropped unanswered and counted.
func TestRefusalsForAllSourcesAreBounded(t *testing.T) {
	const all, each = 4, 3
	h, clock, obs := newGated(), &stoppedClock{}, &refusalCounts{}
	_, addr := startFront(t, Config{Handle: h.handle, Readers: 1, now: clock.now, Refusals: all, Observer: obs})
	var phones []*siptest.Phone
	for i := range 3 {
		phones = append(phones, newPhoneAt(t, net.IPv4(127, 0, 0, byte(2+i)), addr))
	}
	shedQueue(t, h, clock, obs, 3*each, newPhone(t, addr), func() {
		for _, p := range phones {
			for i := range each {
				p.Send(register(p.Port(), true, false, fmt.Sprintf("z9hG4bK-%d", i)))
			}
		}
	})
	answered := 0
	for _, p := range phones {
		answered += repliesUntilLast(t, p).unavailable
	}
	if answered != all {
		t.Errorf("%d of %d shed REGISTERs were answered 503, want the budget for all sources, %d", answered, 3*each, all)
	}
	if want := int64(3*each - all); obs.unanswered.Load() != want {
		t.Errorf("%d shed REGISTERs counted dropped unanswered, want %d", obs.unanswered.Load(), want)
	}
}

// TestRefusalBudgetRefills checks the token buckets' arithmetic: a second's worth
// to start with, refilled at the rate, each reader its share, a source's token
// kept when the budget for all has none.
func TestRefusalBudgetRefills(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	const t0 = int64(1_000_000_000)
	allowed := func(budget *refusalBudget, from netip.Addr, now int64, n int) int {
		got := 0
		for range n {
			if budget.allow(from, now) {
				got++
			}
		}
		return got
	}

	budget := newRefusalBudget(4, 0, 2) // 2 a second for each of two readers
	if got := allowed(budget, a, t0, 5); got != 2 {
		t.Errorf("a fresh source was allowed %d at once, want 2", got)
	}
	if got := allowed(budget, a, t0+int64(500*time.Millisecond), 5); got != 1 {
		t.Errorf("half a second later, %d more, want 1", got)
	}
	if got := allowed(budget, a, t0+int64(time.Hour), 5); got != 2 {
		t.Errorf("an hour later, %d, want no more than a second's worth, 2", got)
	}
	if got := allowed(budget, b, t0, 5); got != 2 {
		t.Errorf("another source was allowed %d, want its own 2", got)
	}

	budget = newRefusalBudget(3, 1, 1)
	if !budget.allow(a, t0) || budget.allow(b, t0) {
		t.Fatal("the budget for all, 1 a second, did not allow exactly the first")
	}
	if got := allowed(budget, b, t0+int64(2*time.Second), 5); got != 1 {
		t.Errorf("two seconds later the budget for all allowed %d, want 1", got)
	}
	if got := allowed(newRefusalBudget(0, 0, 1), a, t0, 100); got != 100 {
		t.Errorf("no limit allowed %d of 100", got)
	}
}

// TestRawCredentials checks the line-start scan that decides whether a shed
// REGISTER may be dropped without a parse.
func TestRawCredentials(t *testing.T) {
	for _, c := range []struct {
		name  string
		lines []string
		want  bool
	}{
		{"none", []string{"Via: SIP/2.0/UDP h;branch=z9hG4bK-1", "From: <sip:a@b>;tag=1"}, false},
		{"Authorization", []string{"Via: SIP/2.0/UDP h;branch=z9hG4bK-1", `Authorization: Digest username="a"`}, true},
		{"lower case, space before the colon", []string{`authorization : Digest username="a"`}, true},
		{"Proxy-Authorization", []string{`PROXY-AUTHORIZATION: Digest username="a"`}, true},
		{"a name that only starts so", []string{"Authorization-Info: x", "Proxy-Authenticate: y"}, false},
		{"in a value, not a line start", []string{"Subject: Authorization: none"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := []byte("REGISTER sip:b SIP/2.0\r\n" + strings.Join(c.lines, "\r\n") + "\r\nContent-Length: 0\r\n\r\n")
			if got := rawCredentials(data); got != c.want {
				t.Errorf("rawCredentials = %v, want %v", got, c.want)
			}
		})
	}
	if !rawCredentials([]byte("REGISTER sip:b SIP/2.0\r\nVia: x\r\n")) {
		t.Error("a header without its end was not left to the parser")
	}
}
