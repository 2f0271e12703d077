package wsserve

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

func bufioString(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// clientFrame is a frame as a client sends it: masked.
func clientFrame(op ws.OpCode, fin bool, payload string) []byte {
	var b bytes.Buffer
	f := ws.NewFrame(op, fin, []byte(payload))
	_ = ws.WriteFrame(&b, ws.MaskFrame(f))
	return b.Bytes()
}

func stream(frames ...[]byte) io.Reader { return bytes.NewReader(bytes.Join(frames, nil)) }

type control struct {
	op      ws.OpCode
	payload string
}

func readAll(r io.Reader, max int) (msgs []string, controls []control, err error) {
	f := &frameReader{r: r, max: max, onControl: func(op ws.OpCode, p []byte) error {
		controls = append(controls, control{op, string(p)})
		return nil
	}}
	for {
		m, err := f.next()
		if err != nil {
			return msgs, controls, err
		}
		msgs = append(msgs, string(m))
	}
}

// Fragments are joined; pings and pongs between them are handed over, payload
// and all, without disturbing the message around them (sipgo took a ping's payload
// for the next frame header).
func TestFramesJoinFragmentsAroundControlFrames(t *testing.T) {
	in := stream(
		clientFrame(ws.OpPing, true, "are you there"),
		clientFrame(ws.OpText, false, "MESSAGE sip:a@b SIP/2.0\r\n"),
		clientFrame(ws.OpPing, true, "mid"),
		clientFrame(ws.OpContinuation, false, "Content-Length: 0\r\n"),
		clientFrame(ws.OpContinuation, true, "\r\n"),
		clientFrame(ws.OpBinary, true, "\r\n\r\n"),
		clientFrame(ws.OpPong, true, ""),
	)
	msgs, controls, err := readAll(in, 1000)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("ended with %v, want EOF", err)
	}
	want := []string{"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n", "\r\n\r\n"}
	if strings.Join(msgs, "|") != strings.Join(want, "|") {
		t.Errorf("messages %q, want %q", msgs, want)
	}
	wantControls := []control{{ws.OpPing, "are you there"}, {ws.OpPing, "mid"}, {ws.OpPong, ""}}
	if len(controls) != len(wantControls) {
		t.Fatalf("control frames %v, want %v", controls, wantControls)
	}
	for i := range controls {
		if controls[i] != wantControls[i] {
			t.Errorf("control frame %d: %v, want %v", i, controls[i], wantControls[i])
		}
	}
}

// A Close ends reading and keeps the peer's code for the echo.
func TestFramesClose(t *testing.T) {
	body := string(ws.NewCloseFrameBody(ws.StatusGoingAway, "bye"))
	f := &frameReader{r: stream(clientFrame(ws.OpClose, true, body)), max: 100, onControl: func(ws.OpCode, []byte) error { return nil }}
	if _, err := f.next(); !errors.Is(err, errClosed) {
		t.Fatalf("got %v, want the close", err)
	}
	if f.closeCode != ws.StatusGoingAway || f.closeReason != "bye" {
		t.Errorf("close %d %q", f.closeCode, f.closeReason)
	}
}

func TestFramesProtocolErrors(t *testing.T) {
	unmasked := func() []byte {
		var b bytes.Buffer
		_ = ws.WriteFrame(&b, ws.NewTextFrame([]byte("x")))
		return b.Bytes()
	}()
	withRsv := clientFrame(ws.OpText, true, "x")
	withRsv[0] |= 0x40
	bigPing := clientFrame(ws.OpPing, true, strings.Repeat("p", 126))
	for _, c := range []struct {
		name string
		in   io.Reader
		code ws.StatusCode
	}{
		{"unmasked", stream(unmasked), ws.StatusProtocolError},
		{"reserved bits", stream(withRsv), ws.StatusProtocolError},
		{"reserved opcode", stream(clientFrame(ws.OpCode(0x3), true, "x")), ws.StatusProtocolError},
		{"reserved control opcode", stream(clientFrame(ws.OpCode(0xb), true, "x")), ws.StatusProtocolError},
		{"continuation first", stream(clientFrame(ws.OpContinuation, true, "x")), ws.StatusProtocolError},
		{"new message inside one", stream(clientFrame(ws.OpText, false, "x"), clientFrame(ws.OpText, true, "y")), ws.StatusProtocolError},
		{"fragmented ping", stream(clientFrame(ws.OpPing, false, "x")), ws.StatusProtocolError},
		{"oversized ping", stream(bigPing), ws.StatusProtocolError},
		{"too big at once", stream(clientFrame(ws.OpText, true, strings.Repeat("a", 11))), ws.StatusMessageTooBig},
		{"too big in fragments", stream(clientFrame(ws.OpText, false, "aaaaaa"), clientFrame(ws.OpContinuation, true, "aaaaa")), ws.StatusMessageTooBig},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(c.in, 10)
			var pe *protocolError
			if !errors.As(err, &pe) || pe.code != c.code {
				t.Fatalf("got %v, want a protocol error %d", err, c.code)
			}
		})
	}
}

// A connection cut inside a message is no message.
func TestFramesTruncated(t *testing.T) {
	whole := clientFrame(ws.OpText, true, "REGISTER sip:x SIP/2.0\r\n\r\n")
	for _, in := range []io.Reader{
		stream(whole[:1]), stream(whole[:len(whole)-3]), stream(clientFrame(ws.OpText, false, "x")),
	} {
		msgs, _, err := readAll(in, 1000)
		if len(msgs) != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %q and %v, want nothing and an unexpected EOF", msgs, err)
		}
	}
}

// Whatever a peer sends, the reader returns messages within the bound, or an
// error, and never panics.
func FuzzFrameReader(f *testing.F) {
	f.Add(clientFrame(ws.OpText, true, "REGISTER sip:x SIP/2.0\r\n\r\n"))
	f.Add(bytes.Join([][]byte{clientFrame(ws.OpText, false, "a"), clientFrame(ws.OpPing, true, "p"), clientFrame(ws.OpContinuation, true, "b")}, nil))
	f.Add([]byte{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add(clientFrame(ws.OpClose, true, "\x03\xe8"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 256
		msgs, controls, err := readAll(bytes.NewReader(data), max)
		if err == nil {
			t.Fatal("reading ended without an error")
		}
		total := 0
		for _, m := range msgs {
			if len(m) > max {
				t.Fatalf("a message of %d bytes passed a bound of %d", len(m), max)
			}
			total += len(m)
		}
		for _, c := range controls {
			if len(c.payload) > ws.MaxControlFramePayloadSize {
				t.Fatalf("a control payload of %d bytes", len(c.payload))
			}
			total += len(c.payload)
		}
		if total > len(data) {
			t.Fatalf("%d bytes out of %d in", total, len(data))
		}
	})
}
