package wsserve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar/netguard"
)

const wait = 10 * time.Second

// server is sipgo serving SIP over WebSocket through a Listener over a guarded
// TCP listener, as the registrar does; it answers MESSAGE with 200.
type server struct {
	addr  string
	guard *netguard.Listener
	gate  *Listener
	// messages receives the MESSAGEs sipgo handled.
	messages chan *sip.Request
	refused  atomic.Int64
}

func startServer(t *testing.T, cfg Config, bounds netguard.Config) *server {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{messages: make(chan *sip.Request, 10)}
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		s.messages <- req
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.guard = netguard.New(l, bounds)
	s.gate = NewListener(s.guard, cfg, logr.Discard())
	s.gate.Refused = func() { s.refused.Add(1) }
	s.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { _ = srv.ServeWS(s.gate); close(done) }()
	t.Cleanup(func() { _ = s.gate.Close(); <-done; _ = ua.Close() })
	return s
}

// dial upgrades with the sip subprotocol and header.
func (s *server) dial(t *testing.T, header http.Header) net.Conn {
	t.Helper()
	d := ws.Dialer{Protocols: []string{"sip"}, Timeout: wait, Header: ws.HandshakeHeaderHTTP(header)}
	c, _, hs, err := d.Dial(context.Background(), "ws://"+s.addr)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if hs.Protocol != "sip" {
		t.Fatalf("subprotocol %q, want sip", hs.Protocol)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func message(n int) string {
	return fmt.Sprintf("MESSAGE sip:1001@example.com SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK-%d\r\n"+
		"From: <sip:1002@example.com>;tag=a\r\nTo: <sip:1001@example.com>\r\nCall-ID: c%d@x\r\nCSeq: 1 MESSAGE\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", n, n)
}

// frame reads the next frame the server sends, unfragmented as it sends them.
func frame(t *testing.T, c net.Conn) ws.Frame {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	f, err := ws.ReadFrame(c)
	if err != nil {
		t.Fatalf("no frame from the server: %v", err)
	}
	return f
}

// expectOK reads the server's 200 to the MESSAGE of Call-ID c<n>.
func expectOK(t *testing.T, c net.Conn, n int) {
	t.Helper()
	f := frame(t, c)
	if f.Header.OpCode != ws.OpText || !strings.HasPrefix(string(f.Payload), "SIP/2.0 200") || !strings.Contains(string(f.Payload), fmt.Sprintf("c%d@x", n)) {
		t.Fatalf("got %v %q, want the 200 to MESSAGE %d", f.Header.OpCode, f.Payload, n)
	}
}

// A ping with a payload is answered with a pong of that payload, and the
// messages around it reach sipgo whole; so does a message in three fragments.
func TestPingPongAndFragments(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{})
	c := s.dial(t, nil)
	if err := wsutil.WriteClientText(c, []byte(message(1))); err != nil {
		t.Fatal(err)
	}
	expectOK(t, c, 1)
	if err := ws.WriteFrame(c, ws.MaskFrame(ws.NewPingFrame([]byte("keepalive-42")))); err != nil {
		t.Fatal(err)
	}
	if f := frame(t, c); f.Header.OpCode != ws.OpPong || string(f.Payload) != "keepalive-42" {
		t.Fatalf("got %v %q, want a pong of keepalive-42", f.Header.OpCode, f.Payload)
	}
	m := message(2)
	parts := []ws.Frame{
		ws.NewFrame(ws.OpText, false, []byte(m[:10])),
		ws.NewFrame(ws.OpContinuation, false, []byte(m[10:50])),
		ws.NewFrame(ws.OpContinuation, true, []byte(m[50:])),
	}
	for _, f := range parts {
		if err := ws.WriteFrame(c, ws.MaskFrame(f)); err != nil {
			t.Fatal(err)
		}
	}
	expectOK(t, c, 2)
}

// A double-CRLF keep-alive is answered with one CRLF, as JsSIP expects (RFC 5626
// §4.4.1 over WebSocket); a single CRLF needs no answer.
func TestCRLFKeepAlive(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{})
	c := s.dial(t, nil)
	for _, ka := range []string{"\r\n", "\r\n\r\n"} {
		if err := wsutil.WriteClientText(c, []byte(ka)); err != nil {
			t.Fatal(err)
		}
	}
	if f := frame(t, c); f.Header.OpCode != ws.OpText || string(f.Payload) != "\r\n" {
		t.Fatalf("got %v %q, want a CRLF", f.Header.OpCode, f.Payload)
	}
	if err := wsutil.WriteClientText(c, []byte(message(3))); err != nil {
		t.Fatal(err)
	}
	expectOK(t, c, 3)
}

// A Close is echoed with its code (one no endpoint may send is answered 1002),
// and the connection ends.
func TestCloseIsEchoed(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{})
	for _, tc := range []struct{ sent, want ws.StatusCode }{
		{ws.StatusNormalClosure, ws.StatusNormalClosure},
		{ws.StatusGoingAway, ws.StatusGoingAway},
		{ws.StatusNoStatusRcvd, ws.StatusProtocolError},
	} {
		c := s.dial(t, nil)
		if err := ws.WriteFrame(c, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(tc.sent, "")))); err != nil {
			t.Fatal(err)
		}
		f := frame(t, c)
		if code, _ := ws.ParseCloseFrameData(f.Payload); f.Header.OpCode != ws.OpClose || code != tc.want {
			t.Errorf("a Close %d got %v %q, want a Close %d", tc.sent, f.Header.OpCode, f.Payload, tc.want)
		}
		if _, err := ws.ReadFrame(c); err == nil {
			t.Fatalf("the connection stayed open after the Close %d", tc.sent)
		}
	}
}

// rawUpgrade sends request on a new connection and returns the response's status
// line; the connection must then be closed by the server.
func rawUpgrade(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after %s the connection is still open (%v)", res.Status, err)
	}
	return res.Status
}

// A page of another site is refused with 403 and the connection closed; a
// listed one, a page of the same host and a client with no Origin are upgraded.
func TestOriginAllowList(t *testing.T) {
	s := startServer(t, Config{AllowedOrigins: []string{"https://phone.example.net"}}, netguard.Config{})
	if got := rawUpgrade(t, s.addr, upgrade(s.addr, "Sec-WebSocket-Protocol: sip", "Origin: https://evil.example.net")); got != "403 Forbidden" {
		t.Fatalf("a cross-site page got %q, want 403", got)
	}
	if got := s.refused.Load(); got != 1 {
		t.Errorf("%d refusals counted, want 1", got)
	}
	for i, h := range []http.Header{
		{"Origin": {"https://phone.example.net"}},
		{"Origin": {"http://127.0.0.1"}},
		nil,
	} {
		c := s.dial(t, h)
		if err := wsutil.WriteClientText(c, []byte(message(10+i))); err != nil {
			t.Fatal(err)
		}
		expectOK(t, c, 10+i)
	}
}

// A client that upgrades and then says nothing is cut at the first-message
// deadline: the upgrade request was no SIP message. One that sent a message is
// not: it was connected first, so its deadline would have passed first.
func TestFirstMessageDeadlineAfterUpgrade(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{FirstMessage: 300 * time.Millisecond, Idle: time.Hour})
	talker := s.dial(t, nil)
	if err := wsutil.WriteClientText(talker, []byte(message(20))); err != nil {
		t.Fatal(err)
	}
	expectOK(t, talker, 20)
	silent := s.dial(t, nil)
	_ = silent.SetReadDeadline(time.Now().Add(wait))
	if _, err := ws.ReadFrame(silent); err == nil || isTimeout(err) {
		t.Fatalf("the silent connection was not cut: %v", err)
	}
	if err := wsutil.WriteClientText(talker, []byte(message(21))); err != nil {
		t.Fatal(err)
	}
	expectOK(t, talker, 21)
	if got := s.guard.Stats().TimedOut; got != 1 {
		t.Errorf("%d connections timed out, want 1", got)
	}
}

// A connection is cut after Idle without a byte.
func TestIdleDeadline(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{Idle: 300 * time.Millisecond})
	c := s.dial(t, nil)
	if err := wsutil.WriteClientText(c, []byte(message(22))); err != nil {
		t.Fatal(err)
	}
	expectOK(t, c, 22)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, err := ws.ReadFrame(c); err == nil || isTimeout(err) {
		t.Fatalf("the idle connection was not cut: %v", err)
	}
	if got := s.guard.Stats().TimedOut; got != 1 {
		t.Errorf("%d connections timed out, want 1", got)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// An upgrade request that never ends is cut at the handshake timeout, even when
// the guard below sets no deadline.
func TestStalledUpgradeIsCut(t *testing.T) {
	s := startServer(t, Config{HandshakeTimeout: 200 * time.Millisecond}, netguard.Config{})
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the stalled upgrade was not cut: %v", err)
	}
}

// Past MaxPerIP a new connection is refused before its upgrade.
func TestConnectionCap(t *testing.T) {
	s := startServer(t, Config{}, netguard.Config{MaxPerIP: 1})
	first := s.dial(t, nil)
	d := ws.Dialer{Protocols: []string{"sip"}, Timeout: wait}
	if c, _, _, err := d.Dial(context.Background(), "ws://"+s.addr); err == nil {
		_ = c.Close()
		t.Fatal("a second connection from the address was upgraded")
	}
	if err := wsutil.WriteClientText(first, []byte(message(30))); err != nil {
		t.Fatal(err)
	}
	expectOK(t, first, 30)
	if got := s.guard.Stats().RefusedPerIP; got != 1 {
		t.Errorf("%d refused, want 1", got)
	}
}

// Upgrades that fail, however they fail, leave no goroutine, no descriptor and
// no counted connection behind.
func TestFailedUpgradesLeakNothing(t *testing.T) {
	s := startServer(t, Config{HandshakeTimeout: 200 * time.Millisecond}, netguard.Config{MaxConns: 1000})
	// One good connection first, so that whatever sipgo starts once is running.
	c := s.dial(t, nil)
	if err := wsutil.WriteClientText(c, []byte(message(40))); err != nil {
		t.Fatal(err)
	}
	expectOK(t, c, 40)
	_ = c.Close()
	settled := func() error {
		if a := s.guard.Stats().Active; a != 0 {
			return fmt.Errorf("%d connections still counted", a)
		}
		return nil
	}
	if err := testenv.Eventually(wait, settled); err != nil {
		t.Fatal(err)
	}
	goroutines, fds := runtime.NumGoroutine(), openFiles(t)

	failures := []func(){
		func() { // an Origin not allowed
			rawUpgrade(t, s.addr, upgrade(s.addr, "Sec-WebSocket-Protocol: sip", "Origin: https://evil.example.net"))
		},
		func() { rawUpgrade(t, s.addr, upgrade(s.addr)) }, // no sip subprotocol
		func() { rawUpgrade(t, s.addr, "OPTIONS sip:x SIP/2.0\r\n\r\n") },
		func() { // stalled: cut at the handshake timeout
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\n")
			_ = c.SetReadDeadline(time.Now().Add(wait))
			_, _ = c.Read(make([]byte, 1))
			_ = c.Close()
		},
		func() { // gone mid-request
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
			_ = c.Close()
		},
	}
	for range 10 {
		for _, fail := range failures {
			fail()
		}
	}
	err := testenv.Eventually(wait, func() error {
		if err := settled(); err != nil {
			return err
		}
		if g := runtime.NumGoroutine(); g > goroutines {
			return fmt.Errorf("%d goroutines, %d before", g, goroutines)
		}
		if f := openFiles(t); f > fds {
			return fmt.Errorf("%d open descriptors, %d before", f, fds)
		}
		return nil
	})
	if err != nil {
		buf := make([]byte, 1<<16)
		t.Fatalf("after 50 failed upgrades: %v\n%s", err, buf[:runtime.Stack(buf, true)])
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count descriptors in")
	}
	return len(es)
}
