package netguard

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// serve accepts from a guarded loopback listener and reads each connection until it
// ends, as sipgo does.
func serve(t *testing.T, cfg Config) (*Listener, string) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, cfg)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				buf := make([]byte, 1024)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l, inner.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// refused reports whether a new connection is closed by the server within d: the
// reset may even reach the client before its connect returns.
func refused(addr string, d time.Duration) bool {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return true
	}
	defer func() { _ = c.Close() }()
	return closedWithin(c, d)
}

// closedWithin reports whether the server ends c within d (EOF or reset on read).
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// waitStats polls the listener's counts until ok or the deadline.
func waitStats(t *testing.T, l *Listener, what string, ok func(Stats) bool) {
	t.Helper()
	err := testenv.Eventually(5*time.Second, func() error {
		if s := l.Stats(); !ok(s) {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

const register = "REGISTER sip:acme SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1\r\nContent-Length: 0\r\n\r\n"

func TestPerIPCapRefusesTheExtraConnection(t *testing.T) {
	l, addr := serve(t, Config{MaxPerIP: 2})
	a, b := dial(t, addr), dial(t, addr)
	waitStats(t, l, "two admitted", func(s Stats) bool { return s.Active == 2 })
	if !refused(addr, 2*time.Second) {
		t.Error("a third connection from one address stayed open")
	}
	if closedWithin(a, 50*time.Millisecond) || closedWithin(b, 50*time.Millisecond) {
		t.Error("an admitted connection was closed")
	}
	if s := l.Stats(); s.RefusedPerIP != 1 || s.Active != 2 {
		t.Errorf("stats %+v, want 1 refused per IP and 2 active", s)
	}
	// A place freed is a place taken again.
	_ = a.Close()
	waitStats(t, l, "the closed one released", func(s Stats) bool { return s.Active == 1 })
	c := dial(t, addr)
	if closedWithin(c, 100*time.Millisecond) {
		t.Error("a connection within the cap was closed")
	}
}

func TestSilentConnectionIsClosedAtTheFirstMessageDeadline(t *testing.T) {
	l, addr := serve(t, Config{FirstMessage: 500 * time.Millisecond})
	silent := dial(t, addr)
	partial := dial(t, addr)
	if _, err := partial.Write([]byte(register[:40])); err != nil {
		t.Fatal(err)
	}
	talker := dial(t, addr)
	// Keep-alives first, then a message split across writes.
	for _, part := range []string{"\r\n\r\n", register[:30], register[30:]} {
		if _, err := talker.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for name, c := range map[string]net.Conn{"silent": silent, "partial": partial} {
		if !closedWithin(c, 5*time.Second) {
			t.Errorf("the %s connection outlived its first-message deadline", name)
		}
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("closed after %s, want about 500 ms", d)
	}
	if closedWithin(talker, 300*time.Millisecond) {
		t.Error("the connection that sent a message was closed")
	}
	if s := l.Stats(); s.TimedOut != 2 || s.Active != 1 {
		t.Errorf("stats %+v, want 2 timed out and 1 active", s)
	}
}

func TestIdleConnectionIsClosedAndKeepAlivesKeepItOpen(t *testing.T) {
	// Generous margins: a keep-alive every 100 ms against an idle timeout ten times
	// longer, so a loaded machine does not close the live one.
	_, addr := serve(t, Config{Idle: time.Second})
	idle, alive := dial(t, addr), dial(t, addr)
	for _, c := range []net.Conn{idle, alive} {
		if _, err := c.Write([]byte(register)); err != nil {
			t.Fatal(err)
		}
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		<-tick.C
		if _, err := alive.Write([]byte("\r\n\r\n")); err != nil {
			t.Fatalf("keep-alive: %v", err)
		}
	}
	if !closedWithin(idle, 3*time.Second) {
		t.Error("the idle connection stayed open")
	}
	if closedWithin(alive, 50*time.Millisecond) {
		t.Error("the connection sending keep-alives was closed")
	}
}

func TestFullListenerEvictsTheOldestSilentConnection(t *testing.T) {
	l, addr := serve(t, Config{MaxConns: 2})
	old := dial(t, addr)
	waitStats(t, l, "first admitted", func(s Stats) bool { return s.Active == 1 })
	talker := dial(t, addr)
	if _, err := talker.Write([]byte(register)); err != nil {
		t.Fatal(err)
	}
	waitStats(t, l, "second admitted", func(s Stats) bool { return s.Active == 2 })
	newcomer := dial(t, addr)
	if !closedWithin(old, 2*time.Second) {
		t.Error("the oldest silent connection was not evicted")
	}
	if closedWithin(newcomer, 100*time.Millisecond) || closedWithin(talker, 50*time.Millisecond) {
		t.Error("the newcomer or the proven connection was closed")
	}
	// Both places proven now: the next one is refused, nobody is evicted.
	if _, err := newcomer.Write([]byte(register)); err != nil {
		t.Fatal(err)
	}
	waitStats(t, l, "newcomer proven", func(Stats) bool { return l.unprovenLen() == 0 })
	if !refused(addr, 2*time.Second) {
		t.Error("a connection over MaxConns with no silent one to evict stayed open")
	}
	if s := l.Stats(); s.Evicted != 1 || s.RefusedTotal != 1 {
		t.Errorf("stats %+v, want 1 evicted and 1 refused", s)
	}
}

// flaky returns EMFILE a few times before each real Accept.
type flaky struct {
	net.Listener
	fails int
}

func (f *flaky) Accept() (net.Conn, error) {
	if f.fails > 0 {
		f.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return f.Listener.Accept()
}

func TestAcceptRetriesWhenOutOfDescriptors(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(&flaky{Listener: inner, fails: 3}, Config{})
	defer func() { _ = l.Close() }()
	go func() {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err == nil {
			defer c.Close()
			_, _ = io.ReadAll(c)
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept gave up on EMFILE: %v", err)
	}
	_ = c.Close()
	_ = l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

func TestIPKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7:5060", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:5060", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:1", "2001:db8:1:2::/64"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := ipKey(a); got != tc.want {
			t.Errorf("ipKey(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

// A framing layer (WebSocket) marks the upgrade request a preamble: the connection
// is evictable again, whatever its bytes look like, until the layer proves it.
func TestFramedConnectionIsProvenOnlyByProve(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(inner, Config{})
	t.Cleanup(func() { _ = l.Close() })
	unproven := make(chan int)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		framer := c.(interface {
			Framed()
			Prove()
		})
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			switch data := string(buf[:n]); {
			case strings.HasPrefix(data, "GET "):
				framer.Framed()
			case data == "PROVE":
				framer.Prove()
			}
			unproven <- l.unprovenLen()
		}
	}()
	c := dial(t, inner.Addr().String())
	for _, step := range []struct {
		send string
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1}, // proven by the scan, then framed
		{"REGISTER sip:x SIP/2.0\r\n\r\n", 1},    // no longer proves
		{"PROVE", 0},
	} {
		if _, err := io.WriteString(c, step.send); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-unproven:
			if got != step.want {
				t.Fatalf("after %q: %d unproven connections, want %d", step.send, got, step.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the server read nothing of %q", step.send)
		}
	}
}
