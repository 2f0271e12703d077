package streamserve

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/netguard"
)

// serve accepts one connection on a loopback listener, bounded by a guard of
// cfg and wrapped by New, as the registrar does, and returns the client's end
// and the server's, as sipgo reads it.
func serve(t *testing.T, cfg netguard.Config) (client net.Conn, server net.Conn, guard *netguard.Listener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	guard = netguard.New(inner, cfg)
	l := New(guard, "TCP", logr.Discard())
	t.Cleanup(func() { _ = l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	client, err = net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	server, ok := <-accepted
	if !ok {
		t.Fatal("nothing accepted")
	}
	t.Cleanup(func() { _ = server.Close() })
	return client, server, guard
}

// readAll reads n bytes as sipgo does, a read at a time, within a deadline.
func readAll(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("after %q: %v", buf, err)
	}
	return string(buf)
}

// Over a real connection: the reader gets the good messages and nothing of the
// bad ones; the peer gets a 400 naming the header at fault, and a CRLF for its
// keep-alive.
func TestConnPassesGoodMessagesAndAnswersTheRest(t *testing.T) {
	client, server, _ := serve(t, netguard.Config{})
	good1, good2 := request(1, "hello"), request(2, "")
	bad := strings.Replace(request(3, ""), "Max-Forwards: 70", "Max-Forwards: seventy", 1)
	if _, err := io.WriteString(client, good1+bad+"\r\n\r\n"+good2); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, server, len(good1+good2)); got != good1+good2 {
		t.Fatalf("the reader got\n%q\nwant\n%q", got, good1+good2)
	}
	if err := client.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	peer := bufio.NewReader(client)
	status, err := peer.ReadString('\n')
	if err != nil || status != "SIP/2.0 400 Malformed Max-Forwards Header\r\n" {
		t.Fatalf("the peer got %q (%v), want the 400", status, err)
	}
	for {
		line, err := peer.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "Call-ID:") && line != "Call-ID: call-3@192.0.2.1\r\n" {
			t.Errorf("the 400's %q is not the request's", line)
		}
		if line == "\r\n" {
			break // the 400's end
		}
	}
	if pong, err := peer.ReadString('\n'); err != nil || pong != "\r\n" {
		t.Fatalf("the keep-alive got %q (%v), want CRLF", pong, err)
	}
}

// A Content-Length that is no number leaves no way to the next message: the
// peer gets 400 and the reader the end of the stream, which sipgo takes as a
// close.
func TestConnEndsWhereFramingIsLost(t *testing.T) {
	client, server, _ := serve(t, netguard.Config{})
	lost := strings.Replace(request(1, ""), "Content-Length: 0", "Content-Length: none", 1)
	if _, err := io.WriteString(client, lost+request(2, "")); err != nil {
		t.Fatal(err)
	}
	if err := server.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := server.Read(make([]byte, 1024)); !errors.Is(err, io.EOF) {
		t.Fatalf("read %d bytes, %v: want the end of the stream", n, err)
	}
	if err := client.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReader(client).ReadString('\n')
	if err != nil || status != "SIP/2.0 400 Malformed Content-Length Header\r\n" {
		t.Fatalf("the peer got %q (%v), want the 400", status, err)
	}
}

// Where framing is lost with more of the stream unread, the connection ends
// with a FIN after the 400, not a reset: a reset arriving at the peer before it
// has read the 400 destroys it, and the phone never learns why its connection
// went.
func TestLostFramingEndsWithTheAnswerRead(t *testing.T) {
	client, server, _ := serve(t, netguard.Config{})
	lost := strings.Replace(request(1, ""), "Content-Length: 0", "Content-Length: none", 1)
	// More than the framer reads at once, still unread in the kernel when the
	// connection ends.
	if _, err := io.WriteString(client, lost+strings.Repeat(request(2, ""), 200)); err != nil {
		t.Fatal(err)
	}
	if err := server.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := server.Read(make([]byte, 1024)); !errors.Is(err, io.EOF) {
		t.Fatalf("read %d bytes, %v: want the end of the stream", n, err)
	}
	if err := server.Close(); err != nil { // as sipgo does at the end of the stream
		t.Fatal(err)
	}
	if err := client.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatalf("the peer read %q, then %v: want the 400 and the end of the stream", got, err)
	}
	if !strings.HasPrefix(string(got), "SIP/2.0 400 Malformed Content-Length Header\r\n") {
		t.Fatalf("the peer got %q, want the 400", got)
	}
}

// A connection that sends only messages that do not parse stays unproven, and is
// cut at the first-message deadline as a silent one is: its headers' CRLF CRLF
// alone proves nothing.
func TestGarbageDoesNotProveAConnection(t *testing.T) {
	client, server, guard := serve(t, netguard.Config{FirstMessage: 300 * time.Millisecond, Idle: time.Hour})
	if _, err := io.WriteString(client, "HELLO there\r\nContent-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The guard sets the read deadlines; the wait for it is bounded here.
	ended := make(chan error, 1)
	go func() {
		_, err := server.Read(make([]byte, 1024))
		ended <- err
	}()
	select {
	case err := <-ended:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("the read ended with %v, want the end of the stream at the first-message deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection that sent only garbage was not cut at the first-message deadline")
	}
	if got := guard.Stats().TimedOut; got != 1 {
		t.Errorf("%d connections timed out, want 1", got)
	}
}
