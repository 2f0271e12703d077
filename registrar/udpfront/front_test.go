package udpfront

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// counting answers every REGISTER 200 OK, tagging the response with how many
// requests it has handled, so a test can tell a cached answer from a fresh one.
type counting struct{ n atomic.Int64 }

func (c *counting) handle(req *sip.Request, _ int) *sip.Response {
	n := c.n.Add(1)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("X-Handled", fmt.Sprint(n)))
	return res
}

type counts struct{ retransmissions, dropped atomic.Int64 }

func (c *counts) Retransmission() { c.retransmissions.Add(1) }
func (c *counts) Dropped()        { c.dropped.Add(1) }

// startFront serves a front end on a loopback :0 socket until the test ends.
func startFront(t testing.TB, cfg Config) (*Front, *net.UDPAddr) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return serveFront(t, conn, cfg)
}

// serveFront serves a front end on conn until the test ends.
func serveFront(t testing.TB, conn *net.UDPConn, cfg Config) (*Front, *net.UDPAddr) {
	t.Helper()
	cfg.Conn = conn
	if cfg.Log.GetSink() == nil {
		cfg.Log = logr.Discard()
	}
	f := New(cfg)
	served := make(chan error, 1)
	go func() { served <- f.Serve() }()
	t.Cleanup(func() {
		_ = conn.Close()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after the socket closed")
		}
	})
	return f, conn.LocalAddr().(*net.UDPAddr)
}

// newPhone is a device on a loopback UDP socket sending to the front end at to.
func newPhone(t *testing.T, to *net.UDPAddr) *siptest.Phone {
	t.Helper()
	return newPhoneAt(t, net.IPv4(127, 0, 0, 1), to)
}

func newPhoneAt(t *testing.T, ip net.IP, to *net.UDPAddr) *siptest.Phone {
	t.Helper()
	return siptest.NewUDP(t, ip.String(), to.String(), siptest.Account{User: "1001", Domain: "acme.example"})
}

// receive returns the next message the phone gets, as it came, or fails the test
// after a deadline.
func receive(t *testing.T, p *siptest.Phone) string {
	t.Helper()
	m, err := p.Next(5 * time.Second)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	return string(m.Raw)
}

// register renders a REGISTER whose Via names viaPort (and rport when asked), with
// credentials when auth is set.
func register(viaPort int, rport, auth bool, branch string) string {
	via := fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=%s", viaPort, branch)
	if rport {
		via += ";rport"
	}
	lines := []string{
		"REGISTER sip:acme.example SIP/2.0",
		"Via: " + via,
		"Max-Forwards: 70",
		"From: <sip:1001@acme.example>;tag=a1",
		"To: <sip:1001@acme.example>",
		"Call-ID: " + branch + "@phone",
		"CSeq: 2 REGISTER",
		fmt.Sprintf("Contact: <sip:1001@127.0.0.1:%d>", viaPort),
	}
	if auth {
		lines = append(lines, `Authorization: Digest username="1001", realm="acme.example", nonce="n", uri="sip:acme.example", response="00", qop=auth, nc=00000001, cnonce="c"`)
	}
	return strings.Join(lines, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
}

func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestRegisterIsAnsweredAtTheSourceWithRport(t *testing.T) {
	h := &counting{}
	_, addr := startFront(t, Config{Handle: h.handle})
	p := newPhone(t, addr)
	// The Via names a port nobody listens on: rport sends the answer to the source.
	p.Send(register(1, true, false, "z9hG4bK-rport"))
	res := receive(t, p)
	if !strings.HasPrefix(res, "SIP/2.0 200 OK") {
		t.Fatalf("response:\n%s", res)
	}
	if via := header(res, "Via"); !strings.Contains(via, fmt.Sprintf("rport=%d", p.Port())) || !strings.Contains(via, "received=127.0.0.1") {
		t.Errorf("Via %q lacks the received address and port (RFC 3581)", via)
	}
}

// "; rport" (RFC 3261 §25.1 allows whitespace around ';'), after a spaced sent-by,
// is rport: the answer goes to the source, a NATed phone's pinhole.
func TestRegisterWithSpacedRportIsAnsweredAtTheSource(t *testing.T) {
	h := &counting{}
	_, addr := startFront(t, Config{Handle: h.handle})
	p := newPhone(t, addr)
	req := strings.Replace(register(1, false, false, "z9hG4bK-sp"), "127.0.0.1:1;branch=z9hG4bK-sp", "127.0.0.1:1 ; branch=z9hG4bK-sp ; rport", 1)
	p.Send(req)
	res := receive(t, p)
	if !strings.HasPrefix(res, "SIP/2.0 200 OK") {
		t.Fatalf("response:\n%s", res)
	}
	if via := header(res, "Via"); !strings.Contains(via, fmt.Sprintf("rport=%d", p.Port())) || !strings.Contains(via, "received=127.0.0.1") {
		t.Errorf("Via %q lacks the received address and port (RFC 3581)", via)
	}
}

// A retransmission of a credentialed REGISTER whose branch is written with
// whitespace ("; branch = z9hG4bK…") is known by it, and not applied again.
func TestRetransmissionWithASpacedBranchIsKnown(t *testing.T) {
	h := &counting{}
	_, addr := startFront(t, Config{Handle: h.handle})
	p := newPhone(t, addr)
	req := register(p.Port(), true, true, "z9hG4bK-spaced")
	req = strings.Replace(req, fmt.Sprintf("127.0.0.1:%d;branch=z9hG4bK-spaced;rport", p.Port()), fmt.Sprintf("127.0.0.1:%d ; branch = z9hG4bK-spaced ; rport", p.Port()), 1)
	p.Send(req)
	first := receive(t, p)
	p.Send(req)
	if again := receive(t, p); again != first {
		t.Errorf("retransmission answered differently:\n%s\nthen:\n%s", first, again)
	}
	if n := h.n.Load(); n != 1 {
		t.Errorf("the handler saw %d requests, want 1: a retransmission must not be applied again", n)
	}
}

func TestRegisterWithoutRportIsAnsweredAtTheViaPort(t *testing.T) {
	h := &counting{}
	_, addr := startFront(t, Config{Handle: h.handle})
	sender, listener := newPhone(t, addr), newPhone(t, addr)
	sender.Send(register(listener.Port(), false, false, "z9hG4bK-via"))
	if res := receive(t, listener); !strings.HasPrefix(res, "SIP/2.0 200 OK") {
		t.Fatalf("response at the Via port:\n%s", res)
	}
}

func TestRetransmittedCredentialsGetTheSameResponse(t *testing.T) {
	h := &counting{}
	obs := &counts{}
	_, addr := startFront(t, Config{Handle: h.handle, Observer: obs})
	p := newPhone(t, addr)
	req := register(p.Port(), true, true, "z9hG4bK-retransmit")
	p.Send(req)
	first := receive(t, p)
	p.Send(req)
	again := receive(t, p)
	if again != first {
		t.Errorf("retransmission answered differently:\n%s\nthen:\n%s", first, again)
	}
	if n := h.n.Load(); n != 1 {
		t.Errorf("the handler saw %d requests, want 1: a retransmission must not be applied again", n)
	}
	if n := obs.retransmissions.Load(); n != 1 {
		t.Errorf("retransmissions counted: %d, want 1", n)
	}
	// A new transaction (new branch) is a new request.
	p.Send(register(p.Port(), true, true, "z9hG4bK-next"))
	if got := header(receive(t, p), "X-Handled"); got != "2" {
		t.Errorf("a new transaction was answered from the cache (X-Handled %q)", got)
	}
}

func TestRetransmissionFromAnotherAddressIsNotServedFromCache(t *testing.T) {
	h := &counting{}
	_, addr := startFront(t, Config{Handle: h.handle})
	a, b := newPhone(t, addr), newPhone(t, addr)
	a.Send(register(a.Port(), false, true, "z9hG4bK-same"))
	receive(t, a)
	b.Send(register(a.Port(), false, true, "z9hG4bK-same"))
	// rport is absent, so the answer goes to a's Via port either way; what matters is
	// that the handler judged b's copy itself.
	if got := header(receive(t, a), "X-Handled"); got != "2" {
		t.Errorf("a copy from another address was answered from the cache (X-Handled %q)", got)
	}
}

func TestUnauthenticatedRetransmissionIsHandledAgain(t *testing.T) {
	h := &counting{}
	_, addr := startFront(t, Config{Handle: h.handle})
	p := newPhone(t, addr)
	req := register(p.Port(), true, false, "z9hG4bK-noauth")
	p.Send(req)
	receive(t, p)
	p.Send(req)
	if got := header(receive(t, p), "X-Handled"); got != "2" {
		t.Errorf("an unauthenticated retransmission should be challenged afresh (X-Handled %q)", got)
	}
}

func TestUnparseableRegisterIsDroppedAndServiceContinues(t *testing.T) {
	h := &counting{}
	_, addr := startFront(t, Config{Handle: h.handle})
	p := newPhone(t, addr)
	p.Send("REGISTER \x00\x01 garbage\r\n\r\n")
	p.Send(register(p.Port(), true, false, "z9hG4bK-after"))
	if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 200 OK") || header(res, "X-Handled") != "1" {
		t.Fatalf("after garbage, response:\n%s", res)
	}
}

// TestOtherMethodsReachSipgo serves a real sipgo server on Rest: OPTIONS is answered
// by it, through the same socket, while REGISTER never reaches it.
func TestOtherMethodsReachSipgo(t *testing.T) {
	h := &counting{}
	f, addr := startFront(t, Config{Handle: h.handle})
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	var sipgoRegisters atomic.Int64
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		sipgoRegisters.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Wrong Path", nil))
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK From Sipgo", nil))
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.ServeUDP(f.Rest()); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("ServeUDP: %v", err)
		}
	})
	t.Cleanup(func() { _ = f.Rest().Close(); wg.Wait() })

	p := newPhone(t, addr)
	options := strings.Replace(register(p.Port(), true, false, "z9hG4bK-opt"), "REGISTER", "OPTIONS", 2)
	p.Send(options)
	if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 200 OK From Sipgo") {
		t.Fatalf("OPTIONS response:\n%s", res)
	}
	p.Send(register(p.Port(), true, false, "z9hG4bK-reg"))
	if res := receive(t, p); header(res, "X-Handled") != "1" {
		t.Fatalf("REGISTER response:\n%s", res)
	}
	if n := sipgoRegisters.Load(); n != 0 {
		t.Errorf("sipgo saw %d REGISTERs", n)
	}
}

func TestPassThroughDropsWhenSipgoIsNotReading(t *testing.T) {
	h := &counting{}
	obs := &counts{}
	f, addr := startFront(t, Config{Handle: h.handle, Observer: obs, Backlog: 2})
	p := newPhone(t, addr)
	for range 5 {
		p.Send("OPTIONS sip:x SIP/2.0\r\n\r\n")
	}
	// Nobody reads Rest: two wait, three are dropped; REGISTER is still answered.
	p.Send(register(p.Port(), true, false, "z9hG4bK-busy"))
	if res := receive(t, p); !strings.HasPrefix(res, "SIP/2.0 200 OK") {
		t.Fatalf("REGISTER while sipgo is busy:\n%s", res)
	}
	if n := obs.dropped.Load(); n != 3 {
		t.Errorf("dropped %d, want 3", n)
	}
	buf := make([]byte, maxDatagram)
	for range 2 {
		n, from, err := f.Rest().ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(buf[:n]), "OPTIONS") || from.(*net.UDPAddr).Port != p.Port() {
			t.Errorf("queued datagram %q from %v", buf[:n], from)
		}
	}
}

func TestClosingTheSocketEndsRestReads(t *testing.T) {
	h := &counting{}
	f, _ := startFront(t, Config{Handle: h.handle})
	read := make(chan error, 1)
	go func() {
		_, _, err := f.Rest().ReadFrom(make([]byte, 10))
		read <- err
	}()
	if err := f.Rest().Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case err := <-read:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after close: %v, want net.ErrClosed", err)
		}
	case <-ctx.Done():
		t.Fatal("a read of Rest did not end when the socket closed")
	}
}
