package udpfront

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
	"github.com/voipbin/registrar-operator/registrar/location"
	registerhandler "github.com/voipbin/registrar-operator/registrar/register"
	"github.com/voipbin/registrar-operator/registrar/status"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// The benchmarks below take a REGISTER datagram through answerer.answer as a reader
// does (parse, admission, retransmission cache, handler, serialisation, write) with
// the production wiring of the handler: default throttles, a location table that
// marks status changes, MD5 digest with qop=auth. The messages are the ones
// hack/bench/sipp/register-digest.xml sends. What the client computes (its digest
// answer, reading the nonce) is done outside the timer.

const (
	benchDomain = "acme.bench.example"
	benchUsers  = 1000
	// benchBatch registrations are prepared at a time outside the timer.
	benchBatch = 512
)

// cpuClock reports the process's CPU time (user and system, every thread: the
// collector's too) spent while the benchmark timer runs, per op, as cpu-ns/op. On a
// machine others load, wall time per op says more about them than about us; CPU
// time much less so.
type cpuClock struct {
	b       *testing.B
	running bool
	since   time.Duration
	spent   time.Duration
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuClock) start() {
	c.b.StartTimer()
	c.since, c.running = processCPU(), true
}

func (c *cpuClock) stop() {
	if c.running {
		c.spent += processCPU() - c.since
		c.running = false
	}
	c.b.StopTimer()
}

func (c *cpuClock) report() {
	c.stop()
	c.b.ReportMetric(float64(c.spent.Nanoseconds())/float64(c.b.N), "cpu-ns/op")
}

// recordingIO is a packetIO that keeps the last datagram written, and every one
// since the arena was last emptied (arena, ends: where each ends in it).
type recordingIO struct {
	last  []byte
	to    netip.AddrPort
	arena []byte
	ends  []int
}

func (r *recordingIO) readBatches(*batch, *sync.Mutex, func(*batch) bool) error {
	panic("recordingIO does not read")
}

func (r *recordingIO) write(b []byte, to netip.AddrPort) error {
	r.last = append(r.last[:0], b...)
	r.to = to
	r.arena = append(r.arena, b...)
	r.ends = append(r.ends, len(r.arena))
	return nil
}

func (*recordingIO) flush() error { return nil }

func (*recordingIO) close() {}

// forget empties the arena; a batch of benchBatch answers fits it unallocated.
func (r *recordingIO) forget() { r.arena, r.ends = r.arena[:0], r.ends[:0] }

// benchRegistrar is one reader of a registrar wired as in production.
type benchRegistrar struct {
	a     answerer
	io    *recordingIO
	from  netip.AddrPort
	users []siptest.Account
	call  int
}

func newBenchRegistrar(b testing.TB) *benchRegistrar {
	b.Helper()
	dom := directory.NewDomain(published.DomainConfig{
		CustomerID: "acme", Domain: benchDomain, Realm: benchDomain,
		MinExpires: 60, DefaultExpires: 3600, MaxExpires: 7200, MaxContacts: 3,
		OnMaxContacts: sipv1.ReplaceOldest, Challenge: sipv1.ChallengeProxyAuthenticate,
		Algorithms: []sipv1.DigestAlgorithm{sipv1.DigestMD5},
	})
	dir := &directory.Static{Domains: map[string]*directory.Domain{benchDomain: dom}, Credentials: map[string]*directory.Credential{}}
	users := make([]siptest.Account, benchUsers)
	for i := range users {
		u := siptest.Account{User: fmt.Sprintf("%d", 100000+i), Domain: benchDomain, Password: fmt.Sprintf("secret-%d", i)}
		users[i] = u
		dir.Credentials[u.User+"@"+benchDomain] = &directory.Credential{
			Namespace: "customer-acme", Name: "ext-" + u.User, Extension: u.User, Domain: benchDomain,
			AOR:    u.User + "@" + benchDomain,
			HA1MD5: published.HA1(sipv1.DigestMD5, u.User, benchDomain, u.Password),
		}
	}
	changes := status.NewChanges()
	table := location.New(0, changes.Mark)
	h := registerhandler.New(registerhandler.Config{
		Directory: dir,
		Table:     table,
		Nonces:    digest.NewNonceSigner([]byte("0123456789abcdef0123456789abcdef"), 0),
		Counts:    digest.NewNonceCounts(digest.DefaultNonceCountsCapacity, 0),
		Guard: &guard.Guard{BySource: throttle.New(throttle.DefaultConfig()), BySourceAOR: throttle.New(throttle.DefaultPairConfig()),
			ByAOR: throttle.New(throttle.DefaultConfig()), Bindings: table},
		Log: logr.Discard(),
	})
	// Nothing is shed: a descheduled benchmark must not turn into 503s. The
	// admission check still runs, as arrival stamps are passed.
	f := New(Config{Handle: h.HandleDatagram, ShedAge: -1, Log: logr.Discard()})
	io := &recordingIO{arena: make([]byte, 0, benchBatch*2048), ends: make([]int, 0, benchBatch)}
	return &benchRegistrar{
		a:     answerer{parser: sipparse.New(), front: f, io: io, waits: f.waits.readers[0]},
		io:    io,
		from:  netip.MustParseAddrPort("192.0.2.10:5061"),
		users: users,
	}
}

// benchCall is one SIPp call: a user, its Call-ID, and the nonce it was challenged with.
type benchCall struct {
	user  siptest.Account
	id    int
	nonce string
}

// register renders the call's REGISTER as SIPp does: the first without
// credentials, the second (cseq 2) with a Proxy-Authorization answering nonce.
func (r *benchRegistrar) register(c *benchCall, cseq int) []byte {
	var auth string
	if cseq > 1 {
		v, err := c.user.Authorization(sipv1.DigestMD5, "REGISTER", "sip:"+benchDomain, c.nonce, 1)
		if err != nil {
			panic(err)
		}
		auth = "Proxy-Authorization: " + v + "\r\n"
	}
	local := r.from.String()
	return []byte(strings.Join([]string{
		"REGISTER sip:" + benchDomain + " SIP/2.0",
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-4242-%d-%d;rport", local, c.id, cseq),
		fmt.Sprintf("From: <sip:%s@%s>;tag=4242SIPpTag00%d", c.user.User, benchDomain, c.id),
		fmt.Sprintf("To: <sip:%s@%s>", c.user.User, benchDomain),
		fmt.Sprintf("Call-ID: %d-4242@192.0.2.10", c.id),
		fmt.Sprintf("CSeq: %d REGISTER", cseq),
		fmt.Sprintf("Contact: <sip:%s@%s;transport=UDP>", c.user.User, local),
	}, "\r\n") + "\r\n" + auth + "Max-Forwards: 70\r\nExpires: 3600\r\nUser-Agent: SIPp-bench\r\nContent-Length: 0\r\n\r\n")
}

// answer sends one datagram through the reader and returns its answer.
func (r *benchRegistrar) answer(data []byte) []byte {
	r.a.answer(data, r.from)
	return r.io.last
}

func (r *benchRegistrar) nextCalls(n int) []benchCall {
	calls := make([]benchCall, n)
	for i := range calls {
		r.call++
		calls[i] = benchCall{user: r.users[r.call%len(r.users)], id: r.call}
	}
	return calls
}

// takeNonce reads the nonce of the 407 res into c.
func takeNonce(b testing.TB, res []byte, c *benchCall) {
	if !bytes.HasPrefix(res, []byte("SIP/2.0 407 ")) {
		b.Fatalf("want a 407, got %q", res)
	}
	_, rest, _ := bytes.Cut(res, []byte(`nonce="`))
	nonce, _, _ := bytes.Cut(rest, []byte(`"`))
	c.nonce = string(nonce)
}

func wantOK(b *testing.B, res []byte) {
	if !bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
		b.Fatalf("want a 200, got %q", res)
	}
}

// BenchmarkAnswerChallenge is a REGISTER without credentials answered 407.
func BenchmarkAnswerChallenge(b *testing.B) {
	r := newBenchRegistrar(b)
	var reqs [][]byte
	clock := cpuClock{b: b}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%benchBatch == 0 {
			clock.stop()
			reqs = reqs[:0]
			for _, c := range r.nextCalls(benchBatch) {
				reqs = append(reqs, r.register(&c, 1))
			}
			r.io.forget()
			clock.start()
		}
		if res := r.answer(reqs[i%benchBatch]); !bytes.HasPrefix(res, []byte("SIP/2.0 407 ")) {
			b.Fatalf("want a 407, got %q", res)
		}
	}
	clock.report()
}

// BenchmarkAnswerAuthenticated is the REGISTER answering the challenge, answered 200.
func BenchmarkAnswerAuthenticated(b *testing.B) {
	r := newBenchRegistrar(b)
	var reqs [][]byte
	clock := cpuClock{b: b}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%benchBatch == 0 {
			clock.stop()
			reqs = reqs[:0]
			calls := r.nextCalls(benchBatch)
			for j := range calls {
				takeNonce(b, r.answer(r.register(&calls[j], 1)), &calls[j])
				reqs = append(reqs, r.register(&calls[j], 2))
			}
			r.io.forget()
			clock.start()
		}
		wantOK(b, r.answer(reqs[i%benchBatch]))
	}
	clock.report()
}

// BenchmarkAnswerRegistration is a whole registration: challenge, then the
// authenticated REGISTER; one op is both.
func BenchmarkAnswerRegistration(b *testing.B) {
	r := newBenchRegistrar(b)
	clock := cpuClock{b: b}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += benchBatch {
		clock.stop()
		calls := r.nextCalls(min(benchBatch, b.N-done))
		first := make([][]byte, len(calls))
		for j := range calls {
			first[j] = r.register(&calls[j], 1)
		}
		r.io.forget()
		clock.start()
		for _, req := range first {
			r.answer(req)
		}
		clock.stop()
		start := 0
		for j, end := range r.io.ends {
			takeNonce(b, r.io.arena[start:end], &calls[j])
			start = end
		}
		second := make([][]byte, len(calls))
		for j := range calls {
			second[j] = r.register(&calls[j], 2)
		}
		clock.start()
		for _, req := range second {
			wantOK(b, r.answer(req))
		}
	}
	clock.report()
}
