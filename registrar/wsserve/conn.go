package wsserve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// guard is what the connection guard below (package netguard) offers a framing
// layer: the upgrade request is no message, the first message inside a frame is.
type guard interface {
	Framed()
	Prove()
}

// controlWriteTimeout bounds writing a pong, a Close or a 400 to a peer that does
// not read.
const controlWriteTimeout = 10 * time.Second

// conn is one WebSocket connection, as sipgo sees it: an upgrade request to
// answer, then unfragmented frames of whole messages.
type conn struct {
	net.Conn
	l  *Listener
	br *bufio.Reader

	// Used by the one reading goroutine only.
	shaken bool
	replay []byte // the upgrade request, for sipgo to read
	frames frameReader
	out    []byte // the current message, framed for sipgo
	proven bool
	done   error // set once reading ended

	wmu sync.Mutex
	// Guarded by wmu.
	upgraded bool   // sipgo wrote its 101: what follows are frames
	tail     uint32 // the last bytes of the 101, to spot its end
	held     []byte // the start of a frame of sipgo's, sent once whole
	heldLeft int64  // bytes still to come of the frame being written

	closeOnce sync.Once
}

func newConn(c net.Conn, l *Listener) *conn {
	// Small: a browser's upgrade request takes well under 1 KiB, and payloads are
	// read past the buffer; it stays with every idle connection.
	cn := &conn{Conn: c, l: l, br: bufio.NewReaderSize(c, 1024)}
	cn.frames = frameReader{r: cn.br, max: MaxMessage, onControl: cn.control}
	return cn
}

// Read hands sipgo the upgrade request, then one frame per message that parses.
func (c *conn) Read(b []byte) (int, error) {
	if c.done != nil {
		return 0, c.done
	}
	if !c.shaken {
		if err := c.handshake(); err != nil {
			c.done = io.EOF
			return 0, c.done
		}
	}
	if len(c.replay) > 0 {
		n := copy(b, c.replay)
		c.replay = rest(c.replay, n)
		return n, nil
	}
	for len(c.out) == 0 {
		msg, err := c.frames.next()
		if err != nil {
			c.fail(err)
			c.done = io.EOF
			return 0, c.done
		}
		if !keepAlive(msg) {
			// sipgo would close the connection on a message it cannot parse
			// (malformed.go).
			if err := sipparse.Check(msg); err != nil {
				c.refuse(msg, err)
				continue
			}
			c.prove()
		}
		c.out = forSipgo(msg)
	}
	n := copy(b, c.out)
	c.out = rest(c.out, n)
	return n, nil
}

// prove tells the guard below that the connection sent a message, once: one that
// parses, so that a peer sending garbage stays unproven.
func (c *conn) prove() {
	if c.proven {
		return
	}
	c.proven = true
	if g, ok := c.Conn.(guard); ok {
		g.Prove()
	}
}

// rest is what is left of p after n bytes: nil once all is read, so that an idle
// connection holds no message.
func rest(p []byte, n int) []byte {
	if n >= len(p) {
		return nil
	}
	return p[n:]
}

// handshake reads and checks the upgrade request; a refused one is answered and
// the connection closed. The guard below bounds it with its first-message
// deadline, and HandshakeTimeout too: whichever comes first.
func (c *conn) handshake() error {
	var mu sync.Mutex
	finished := false
	timer := time.AfterFunc(c.l.cfg.HandshakeTimeout, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			// A deadline in the past ends the blocked read as a timeout.
			_ = c.SetReadDeadline(time.Unix(1, 0))
		}
	})
	raw, err := readRequestHeader(c.br)
	mu.Lock()
	finished = true
	mu.Unlock()
	timer.Stop()
	if err == nil {
		err = c.l.policy.check(raw)
	}
	var r *refusal
	switch {
	case errors.As(err, &r):
		c.l.log.V(1).Info("WebSocket upgrade refused", "remote", c.RemoteAddr().String(), "status", r.status, "reason", r.reason)
		if c.l.Refused != nil {
			c.l.Refused()
		}
		_ = c.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
		_, _ = c.Conn.Write(r.response())
		_ = c.Close()
		return err
	case err != nil:
		// Timed out (the guard below counted and reset it) or gone.
		_ = c.Close()
		return err
	}
	c.shaken, c.replay = true, raw
	if g, ok := c.Conn.(guard); ok {
		g.Framed()
	} else {
		_ = c.SetReadDeadline(time.Time{})
	}
	return nil
}

// control answers a ping with a pong of the same payload (RFC 6455 §5.5.2).
func (c *conn) control(op ws.OpCode, payload []byte) error {
	if op != ws.OpPing {
		return nil
	}
	return c.writeFrame(ws.NewPongFrame(payload))
}

// fail ends reading: a Close echoes the peer's, a protocol error is told with its
// code (RFC 6455 §7.4.1); either way sipgo then closes the connection.
func (c *conn) fail(err error) {
	var pe *protocolError
	switch {
	case errors.Is(err, errClosed):
		var body []byte
		switch code := c.frames.closeCode; {
		case code == 0: // a Close without a code gets one without
		case ws.CheckCloseFrameData(code, c.frames.closeReason) == nil:
			body = ws.NewCloseFrameBody(code, "")
		default: // a code no endpoint may send (1005, 1006, 1015, unassigned)
			body = ws.NewCloseFrameBody(ws.StatusProtocolError, "invalid close code")
		}
		_ = c.writeFrame(ws.NewCloseFrame(body))
	case errors.As(err, &pe):
		c.l.log.V(1).Info("WebSocket protocol error", "remote", c.RemoteAddr().String(), "error", pe.Error())
		_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(pe.code, pe.reason)))
	}
}

// writeFrame writes a frame of ours (a pong, a Close, a 400) between sipgo's
// frames.
func (c *conn) writeFrame(f ws.Frame) error {
	var buf bytes.Buffer
	if err := ws.WriteFrame(&buf, f); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
	_, err := c.Conn.Write(buf.Bytes())
	_ = c.SetWriteDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("while writing a WebSocket frame: %w", err)
	}
	return nil
}

// forSipgo frames msg as sipgo's reader wants it: one final text frame, masked
// (it insists, as a server) with a zero key, so the payload stays as it is.
func forSipgo(msg []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(msg) + 14)
	_ = ws.WriteHeader(&buf, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Length: int64(len(msg))})
	buf.Write(msg)
	return buf.Bytes()
}

// Write passes sipgo's 101 through, then holds each of its frames until whole:
// sipgo writes a frame's header and its payload in two calls, between which a
// pong must not land.
func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.upgraded {
		for _, ch := range b {
			c.tail = c.tail<<8 | uint32(ch)
		}
		c.upgraded = c.tail == 0x0d0a0d0a
		return c.Conn.Write(b)
	}
	n := len(b)
	for len(b) > 0 {
		if c.heldLeft == 0 {
			h, err := ws.ReadHeader(bytes.NewReader(b))
			if err != nil {
				return 0, fmt.Errorf("while framing a WebSocket write: %w", err)
			}
			c.heldLeft = int64(ws.HeaderSize(h)) + h.Length
		}
		take := min(int64(len(b)), c.heldLeft)
		part := b[:take]
		b = b[take:]
		if c.heldLeft -= take; c.heldLeft > 0 {
			c.held = append(c.held, part...)
			continue
		}
		bufs := net.Buffers{c.held, part}
		_, err := bufs.WriteTo(c.Conn)
		// Only a header (or a rare partial frame) is held: keep no large buffer.
		if c.held = c.held[:0]; cap(c.held) > 64 {
			c.held = nil
		}
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// SetDeadline ignores sipgo's deadlines (10 s for the upgrade, then none): the
// guard below bounds the upgrade and idleness, and this connection its writes of
// control frames.
func (c *conn) SetDeadline(time.Time) error { return nil }

// Close closes once (sipgo closes again after a refused upgrade), and keeps its
// error from sipgo, which would log a warning for each browser that leaves: over
// TLS, closing writes a close_notify that a peer already gone cannot take.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		if err := c.Conn.Close(); err != nil {
			c.l.log.V(1).Info("closing a WebSocket connection", "remote", c.RemoteAddr().String(), "error", err.Error())
		}
	})
	return nil
}

// NetConn is the connection below, for the guard to reset.
func (c *conn) NetConn() net.Conn { return c.Conn }
