//go:build linux

package udpfront

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// loopbackPair is a listener on loopback :0 and a peer socket sending to it.
func loopbackPair(t *testing.T) (*net.UDPConn, *net.UDPConn) {
	t.Helper()
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	p, err := net.DialUDP("udp4", nil, l.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return l, p
}

// readAll reads batches until want datagrams came, or five seconds passed; it
// returns them and how many reads it took.
func readAll(t *testing.T, io packetIO, b *batch, want int) ([]received, int) {
	t.Helper()
	var turn sync.Mutex
	var got []received
	reads := 0
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		if err := readOne(io, b, &turn); err != nil {
			t.Fatal(err)
		}
		turn.Unlock()
		reads++
		for _, m := range b.got {
			m.data = append([]byte(nil), m.data...) // the next read reuses the slot
			got = append(got, m)
		}
	}
	if len(got) != want {
		t.Fatalf("read %d datagrams, want %d", len(got), want)
	}
	return got, reads
}

// A reader takes every queued datagram, REGISTER or not, in one system call, in
// the order they were sent, each with its source and arrival stamp.
func TestBatchReadTakesTheQueueInOrder(t *testing.T) {
	l, p := loopbackPair(t)
	if err := stampArrivals(l); err != nil {
		t.Fatal(err)
	}
	io, err := openDirect(l, newReaderGate(1).lend)
	if err != nil {
		t.Fatal(err)
	}
	defer io.close()
	const n = 20
	for i := range n {
		msg := fmt.Sprintf("SIP/2.0 180 Ringing\r\nX-Seq: %d\r\n\r\n", i)
		if i%3 == 0 {
			msg = register(5060, true, i%2 == 0, fmt.Sprintf("z9hG4bK-%d", i))
		}
		if _, err := p.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	got, reads := readAll(t, io, newBatch(batchSlots, maxDatagram), n)
	if reads != 1 {
		t.Errorf("%d datagrams queued took %d reads, want one", n, reads)
	}
	me := p.LocalAddr().(*net.UDPAddr).AddrPort()
	for i, m := range got {
		if i%3 == 0 {
			if want := fmt.Sprintf("z9hG4bK-%d@phone", i); header(string(m.data), "Call-ID") != want {
				t.Errorf("datagram %d: Call-ID %q, want %q", i, header(string(m.data), "Call-ID"), want)
			}
		} else if header(string(m.data), "X-Seq") != fmt.Sprint(i) {
			t.Errorf("datagram %d came as X-Seq %q", i, header(string(m.data), "X-Seq"))
		}
		if m.from != me || m.arrived == 0 || m.truncated {
			t.Errorf("datagram %d: from %s (want %s), arrived %d, truncated %v", i, m.from, me, m.arrived, m.truncated)
		}
	}
}

// A datagram longer than its slot is marked truncated, and the ones after it are
// read whole; the front end drops it rather than answer half a request.
func TestBatchReadMarksATruncatedDatagram(t *testing.T) {
	l, p := loopbackPair(t)
	io, err := openDirect(l, newReaderGate(1).lend)
	if err != nil {
		t.Fatal(err)
	}
	defer io.close()
	long := register(5060, true, false, "z9hG4bK-long")
	short := "SIP/2.0 100 Trying\r\n\r\n"
	for _, msg := range []string{short, long, short} {
		if _, err := p.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := readAll(t, io, newBatch(4, 64), 3)
	for i, want := range []bool{false, true, false} {
		if got[i].truncated != want {
			t.Errorf("datagram %d: truncated %v, want %v", i, got[i].truncated, want)
		}
	}
	if string(got[2].data) != short {
		t.Errorf("the datagram after the long one: %q", got[2].data)
	}

	obs := &counts{}
	f := New(Config{Conn: l, Handle: (&counting{}).handle, Observer: obs})
	f.handOn(&batch{got: got})
	if n := len(f.rest.queue); n != 2 {
		t.Errorf("%d datagrams for sipgo, want the 2 whole ones", n)
	}
}

// Responses queued by write leave in order at flush, one larger than the queue's
// room among them, each to its own peer.
func TestFlushSendsTheQueuedResponsesInOrder(t *testing.T) {
	l, p := loopbackPair(t)
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	io, err := openDirect(l, newReaderGate(1).lend)
	if err != nil {
		t.Fatal(err)
	}
	defer io.close()
	toPeer := p.LocalAddr().(*net.UDPAddr).AddrPort()
	toOther := other.LocalAddr().(*net.UDPAddr).AddrPort()
	var sent []string
	for i := range 2*txSlots + 3 {
		msg := fmt.Sprintf("SIP/2.0 200 OK\r\nX-Seq: %d\r\n\r\n", i)
		if i == 5 {
			msg += strings.Repeat("x", txBytes+1)
		}
		if err := io.write([]byte(msg), toPeer); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, msg)
		if err := io.write([]byte("to the other"), toOther); err != nil {
			t.Fatal(err)
		}
	}
	if err := io.flush(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxDatagram)
	for i, want := range sent {
		_ = p.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if string(buf[:n]) != want {
			t.Fatalf("response %d: %.40q, want %.40q", i, buf[:n], want)
		}
	}
	for i := range len(sent) {
		_ = other.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := other.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:n]) != "to the other" {
			t.Fatalf("the other peer's response %d: %q, %v", i, buf[:n], err)
		}
	}
}

// Closing the listener while readers are in the middle of a flood ends Serve, with
// no reader left behind.
func TestClosingMidFloodEndsEveryReader(t *testing.T) {
	before := runtime.NumGoroutine()
	l, p := loopbackPair(t)
	f := New(Config{Conn: l, Handle: (&counting{}).handle, Readers: 4})
	served := make(chan error, 1)
	go func() { served <- f.Serve() }()
	stop := make(chan struct{})
	var flood sync.WaitGroup
	flood.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			msg := "OPTIONS sip:x SIP/2.0\r\n\r\n"
			if i%2 == 0 {
				msg = register(5060, true, false, fmt.Sprintf("z9hG4bK-%d", i))
			}
			_, _ = p.Write([]byte(msg))
		}
	})
	rest := make(chan int, 1)
	go func() {
		n := 0
		buf := make([]byte, maxDatagram)
		for {
			if _, _, err := f.Rest().ReadFrom(buf); err != nil {
				rest <- n
				return
			}
			n++
		}
	}()
	// Some datagrams went through the readers before the close.
	deadline := time.Now().Add(5 * time.Second)
	for len(f.rest.queue) == 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	_ = l.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the listener closed mid-flood")
	}
	select {
	case <-rest:
	case <-time.After(5 * time.Second):
		t.Fatal("Rest's reads did not end")
	}
	close(stop)
	flood.Wait()
	for runtime.NumGoroutine() > before && time.Now().Before(deadline.Add(5*time.Second)) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// Shedding a REGISTER under overload costs no allocation: no parse, no response
// built through sipgo. It is what the readers do most of when overloaded, so its
// cost decides how much of their time is left for registrations that complete.
func TestSheddingParsesNothing(t *testing.T) {
	l, p := loopbackPair(t)
	obs := &shedCounts{}
	f := New(Config{Conn: l, Handle: (&counting{}).handle, Observer: obs})
	a := answerer{parser: sipparse.New(), front: f, io: f.openIO(), waits: f.waits.readers[0]}
	defer a.io.close()
	me := p.LocalAddr().(*net.UDPAddr).AddrPort()
	m := &received{data: []byte(register(int(me.Port()), true, false, "z9hG4bK-stale")), from: me, arrived: 1}
	now := time.Now().UnixNano()
	allocs := testing.AllocsPerRun(200, func() { f.serveRegister(&a, m, now) })
	if err := a.io.flush(); err != nil {
		t.Fatal(err)
	}
	if obs.shed == 0 {
		t.Fatal("the stale REGISTER was not shed")
	}
	if allocs > 0 {
		t.Errorf("shedding a REGISTER allocated %.0f times", allocs)
	}
	buf := make([]byte, maxDatagram)
	_ = p.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := p.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 503 ") {
		t.Fatalf("the phone got %q, %v", buf[:n], err)
	}

	// Past the source's budget of 503s, dropping it costs none either.
	a.refusals = newRefusalBudget(1, 0, 1)
	allocs = testing.AllocsPerRun(200, func() { f.serveRegister(&a, m, now) })
	if obs.unanswered == 0 {
		t.Fatal("no stale REGISTER was dropped past the source's budget")
	}
	if allocs > 0 {
		t.Errorf("dropping a shed REGISTER allocated %.0f times", allocs)
	}
}

type shedCounts struct {
	counts
	shed, unanswered int
}

func (s *shedCounts) Shed()           { s.shed++ }
func (s *shedCounts) ShedUnanswered() { s.unanswered++ }

// BenchmarkShedding compares a stale REGISTER without credentials shed from its raw
// lines (what a reader does now) with the same shed after a full parse and sipgo's
// response builder (answerer.answer, the path before): the response goes to the
// socket either way.
func BenchmarkShedding(b *testing.B) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	to := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	f := New(Config{Conn: l, Handle: (&counting{}).handle})
	a := answerer{parser: sipparse.New(), front: f, io: f.openIO(), waits: f.waits.readers[0]} // no refusal budget: every one answered
	defer a.io.close()
	m := &received{data: []byte(register(int(to.Port()), true, false, "z9hG4bK-stale")), from: to, arrived: 1}
	now := time.Now().UnixNano()
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.serveRegister(&a, m, now)
		}
		_ = a.io.flush()
	})
	b.Run("dropped", func(b *testing.B) {
		// The source's budget spent: what a flood's source costs past it.
		a.refusals = newRefusalBudget(1, 0, 1)
		defer func() { a.refusals = nil }()
		b.ReportAllocs()
		for b.Loop() {
			f.serveRegister(&a, m, now)
		}
	})
	b.Run("parsed", func(b *testing.B) {
		a.shedding = true // as serveRegister leaves it for a stale REGISTER
		b.ReportAllocs()
		for b.Loop() {
			a.answer(m.data, m.from)
		}
		_ = a.io.flush()
	})
}
