package streamserve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/netguard"
)

// A message longer than sipgo's read, whose body ends in NUL bytes, reaches the
// reader in reads that each hold a byte that is not NUL (sipgo skips the others
// and would lose the end of the message, and with it where the next starts),
// and whole: the reads put together are the message, then the next one.
func TestNoReadIsOnlyTheNULsThatEndAMessage(t *testing.T) {
	for _, tail := range []int{1, 1000, readSize - 2000} {
		client, server, _ := serve(t, netguard.Config{})
		// The letters end within the first read, after the header section.
		body := strings.Repeat("b", readSize-1000) + strings.Repeat("\x00", tail)
		padded, next := request(1, body), request(2, "")
		if _, err := io.WriteString(client, padded+next); err != nil {
			t.Fatal(err)
		}
		if err := server.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		buf := make([]byte, sip.TransportBufferReadSize) // as sipgo reads
		for got.Len() < len(padded+next) {
			n, err := server.Read(buf)
			if err != nil {
				t.Fatalf("%d NULs: after %d bytes: %v", tail, got.Len(), err)
			}
			if len(bytes.Trim(buf[:n], "\x00")) == 0 {
				t.Fatalf("%d NULs: a read of %d bytes is all NUL bytes, which sipgo skips", tail, n)
			}
			got.Write(buf[:n])
		}
		if got.String() != padded+next {
			t.Fatalf("%d NULs: the reader got %d bytes, not the two messages", tail, got.Len())
		}
	}
}

// A message ending in more NUL bytes than sipgo reads at once cannot reach it
// whole: it is answered 400 and skipped, and the next message on the
// connection is read.
func TestAMessageEndingInAReadOfNULsIsRefused(t *testing.T) {
	client, server, _ := serve(t, netguard.Config{})
	padded := request(1, "text"+strings.Repeat("\x00", readSize+10))
	next := request(2, "")
	if _, err := io.WriteString(client, padded+next); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, server, len(next)); got != next {
		t.Fatalf("the reader got %q, want the next message", got)
	}
	if err := client.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReader(client).ReadString('\n')
	if err != nil || status != "SIP/2.0 400 Message Ends In NUL Bytes\r\n" {
		t.Fatalf("the peer got %q (%v), want the 400", status, err)
	}
}

func TestHandOn(t *testing.T) {
	for _, tc := range []struct {
		out  string
		room int
		want int
	}{
		{"abc", 8, 3},                       // fits
		{"abcdefgh", 4, 4},                  // what is left holds letters
		{"ab\x00\x00\x00", 4, 1},            // what is left would be NULs only: stop before the b
		{"ab\x00\x00\x00\x00", 4, 4},        // the b and its NULs are more than a read: nothing helps
		{"\x00\x00a\x00\x00\x00\x00", 4, 4}, // the NULs before the a would go alone: nothing helps
		{"a\x00\x00\x00\x00\x00", 4, 4},     // one letter only
	} {
		if got := handOn([]byte(tc.out), tc.room); got != tc.want {
			t.Errorf("handOn(%q, %d) = %d, want %d", tc.out, tc.room, got, tc.want)
		}
	}
}

// memConn is a connection whose peer reads nothing back: only to give conn its
// writes and addresses in a fuzz test, whose stream the framer reads itself.
type memConn struct{ net.Conn }

func (memConn) Write(b []byte) (int, error)      { return len(b), nil }
func (memConn) Read([]byte) (int, error)         { return 0, io.EOF } // a lingering close's drain
func (memConn) SetWriteDeadline(time.Time) error { return nil }
func (memConn) SetReadDeadline(time.Time) error  { return nil }
func (memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5060} }

// What sipgo makes of our reads, read as it reads them (skipping any read that
// is all NUL bytes), is every message we pass and nothing else: its stream
// parser never fails on them, and never joins two or splits one. Messages are
// kept under two of sipgo's reads, as ParseMaxMessageLength is under two of
// TransportBufferReadSize.
func FuzzSipgoReadsTheMessagesWePass(f *testing.F) {
	const room = 64
	tiny := func(body string) string { // a request under two reads
		return fmt.Sprintf("OPTIONS sip:a SIP/2.0\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	f.Add([]byte(tiny("b"+strings.Repeat("\x00", 59)) + tiny("")))
	f.Add([]byte(tiny(strings.Repeat("\x00", 40)+"b") + "\r\n\r\n" + tiny("")))
	f.Add([]byte(tiny("x") + tiny(strings.Repeat("\x00", 70))))
	f.Fuzz(func(t *testing.T, stream []byte) {
		saved := readSize
		readSize = room
		defer func() { readSize = saved }()
		c := &conn{Conn: memConn{}, l: &Listener{transport: "TCP", log: logr.Discard()},
			frames: framer{r: bytes.NewReader(stream), limit: 2*room - 1}}
		p := sip.NewParser()
		p.MaxMessageLength = 2*room - 1
		sipgo := p.NewSIPStream()
		passed, parsed := 0, 0
		buf := make([]byte, room)
		for {
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			if len(bytes.Trim(buf[:n], "\x00")) == 0 {
				t.Fatalf("a read of %d bytes is all NUL bytes, which sipgo skips", n)
			}
			err = sipgo.ParseSIPStream(buf[:n], func(sip.Message) { parsed++ })
			if err != nil && !errors.Is(err, sip.ErrParseSipPartial) {
				t.Fatalf("sipgo failed on what we passed: %v", err)
			}
			if len(c.out) == 0 {
				passed++ // c.out holds one message at a time
			}
		}
		if parsed != passed {
			t.Fatalf("we passed %d messages, sipgo parsed %d", passed, parsed)
		}
	})
}
