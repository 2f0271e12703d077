package wsserve

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/gobwas/ws"
)

// recorder is a connection that keeps what is written to it.
type recorder struct {
	net.Conn
	out bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error)      { return r.out.Write(b) }
func (r *recorder) SetWriteDeadline(time.Time) error { return nil }

// sipgo writes a frame's header and payload in two calls; a pong sent between
// them goes out before the frame, not inside it.
func TestPongNeverLandsInsideAFrame(t *testing.T) {
	rec := &recorder{}
	c := newConn(rec, NewListener(nil, Config{}, logr.Discard()))
	c.upgraded = true
	msg := []byte("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
	var header bytes.Buffer
	if err := ws.WriteHeader(&header, ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(msg))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(header.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := c.control(ws.OpPing, []byte("p")); err != nil {
		t.Fatal(err)
	}
	// A payload in two writes, too.
	for _, part := range [][]byte{msg[:5], msg[5:]} {
		if _, err := c.Write(part); err != nil {
			t.Fatal(err)
		}
	}
	out := bytes.NewReader(rec.out.Bytes())
	for i, want := range []struct {
		op      ws.OpCode
		payload []byte
	}{{ws.OpPong, []byte("p")}, {ws.OpText, msg}} {
		f, err := ws.ReadFrame(out)
		if err != nil {
			t.Fatalf("frame %d: %v (written: %q)", i, err, rec.out.Bytes())
		}
		if f.Header.OpCode != want.op || !bytes.Equal(f.Payload, want.payload) {
			t.Fatalf("frame %d is %v %q, want %v %q (written: %q)", i, f.Header.OpCode, f.Payload, want.op, want.payload, rec.out.Bytes())
		}
	}
	if out.Len() != 0 {
		t.Fatalf("%d bytes more than the two frames", out.Len())
	}
}
