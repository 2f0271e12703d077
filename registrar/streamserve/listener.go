// Package streamserve hands sipgo the SIP messages of TCP and TLS connections one
// whole message at a time, each one first checked with the parser sipgo will use.
//
// sipgo v1.7.3 closes a stream connection at the first message its parser
// refuses (transport_tcp.go, readConnection), without a response. A desk phone
// on TCP or TLS then loses its connection, and the calls that would reach it
// over that connection, for one bad header. Yet a stream is cut into messages by
// Content-Length alone (RFC 3261 §18.3), so a message with a malformed header
// can be answered 400 and skipped, as a datagram is, and the connection kept.
// Here:
//
//   - a request that does not parse gets 400 naming the header at fault, one a
//     response copies too (a CSeq out of range, a To that does not parse, a Via:
//     the connection is the way back), from its raw lines (package rawreply, as
//     over UDP and WebSocket); anything else that does not parse is dropped;
//   - a message without Content-Length gets 400 and is taken to have no body;
//   - a message over sipgo's largest (sip.ParseMaxMessageLength) gets 513 and its body is skipped;
//   - a CRLF CRLF keep-alive gets its CRLF (RFC 5626 §3.5.1);
//   - a message longer than sipgo's read is handed on so that no read is only
//     NUL bytes, which sipgo skips (nul.go); one that cannot be gets 400;
//   - only a Content-Length that is no number, or a header section that does
//     not end within that size, closes the connection: where the next message
//     starts is then unknown. The first is answered 400 before a lingering
//     close (linger.go), so that the peer reads the 400 and not a reset.
//
// The price is a second parse of every good message, as over WebSocket
// (wsserve, BenchmarkParseBeforeSipgo): sipgo has no hook on its parse failure.
package streamserve

import (
	"bytes"
	"errors"
	"io"
	"net"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/internal/rawreply"
	"github.com/voipbin/registrar-operator/registrar/internal/redact"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// controlWriteTimeout bounds writing a keep-alive's answer or a 400 to a peer that
// does not read.
const controlWriteTimeout = 10 * time.Second

// Listener hands sipgo the connections of an inner listener (netguard's), their
// messages checked one by one.
type Listener struct {
	net.Listener
	transport string // TCP or TLS, for the log
	log       logr.Logger
}

// New wraps inner, whose connections carry SIP over transport (TCP or TLS).
func New(inner net.Listener, transport string, log logr.Logger) *Listener {
	return &Listener{Listener: inner, transport: transport, log: log}
}

// Accept returns the next connection of the inner listener, its reads framed.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, l: l, frames: framer{r: c, limit: sip.ParseMaxMessageLength}}, nil
}

// guard is what the connection guard below (package netguard) offers a framing
// layer: it proves a connection on the first message that parses, not on the
// first bytes that look like one.
type guard interface {
	Framed()
	Prove()
}

// conn is one connection as sipgo reads it: whole messages that parse.
type conn struct {
	net.Conn
	l *Listener

	// Used by sipgo's one reading goroutine only.
	frames framer
	out    []byte // the rest of the message sipgo is reading
	begun  bool
	proven bool
}

// Read hands sipgo the next message that parses, or what is left of it.
func (c *conn) Read(b []byte) (int, error) {
	if !c.begun {
		c.begun = true
		if g, ok := c.Conn.(guard); ok {
			g.Framed()
		}
	}
	for len(c.out) == 0 {
		u, err := c.frames.next()
		if err != nil {
			return 0, c.ended(err)
		}
		c.out = c.take(u)
	}
	n := copy(b, c.out[:handOn(c.out, len(b))])
	c.out = c.out[n:]
	return n, nil
}

// take deals with one unit of the stream and returns what sipgo is to read of it.
func (c *conn) take(u unit) []byte {
	switch u.kind {
	case unitMessage:
		if err := sipparse.Check(u.data); err != nil {
			c.refuse(u.data, err)
			return nil
		}
		if !deliverable(u.data) {
			c.answer(u.data, "400 Message Ends In NUL Bytes", "a SIP message that sipgo would lose the end of")
			return nil
		}
		c.prove()
		return u.data
	case unitPing:
		c.control(crlf, "keep-alive answer")
	case unitNoLength:
		c.answer(u.data, "400 Missing Content-Length Header", "a SIP message without Content-Length")
	case unitTooLarge:
		c.answer(u.data, "513 Message Too Large", "a SIP message over the largest size")
	case unitBadLength:
		c.answer(u.data, "400 Malformed Content-Length Header", "a SIP message whose Content-Length is no number")
	}
	return nil
}

// ended turns the error that ended the stream into sipgo's: a lost framing is
// logged here and read as the end of the stream, which sipgo takes as a close.
func (c *conn) ended(err error) error {
	if errors.Is(err, errBadLength) || errors.Is(err, errHeadersTooLong) {
		c.l.log.V(1).Info("closing a SIP connection whose messages can no longer be told apart",
			"transport", c.l.transport, "remote", c.RemoteAddr().String(), "reason", err.Error())
		if errors.Is(err, errBadLength) {
			lingeringClose(c.Conn) // the 400 written before must reach the peer
		}
		return io.EOF
	}
	return err
}

// prove tells the guard below that the connection sent a message that parses,
// once: a peer sending garbage stays unproven, evicted first and under the
// first-message deadline.
func (c *conn) prove() {
	if c.proven {
		return
	}
	c.proven = true
	if g, ok := c.Conn.(guard); ok {
		g.Prove()
	}
}

// refuse answers msg, which the parser refused with err, 400, or drops it.
// Neither msg nor the parser's quote of it is logged: it may hold an
// Authorization header.
func (c *conn) refuse(msg []byte, err error) {
	var out bytes.Buffer
	if !rawreply.Refusal(&out, msg, err, c.RemoteAddr()) {
		c.l.log.V(1).Info("dropping an unparsable SIP message", "transport", c.l.transport,
			"remote", c.RemoteAddr().String(), "bytes", len(msg), "error", redact.ParseError(err.Error()))
		return
	}
	c.l.log.V(1).Info("answering an unparsable SIP request 400", "transport", c.l.transport,
		"remote", c.RemoteAddr().String(), "bytes", len(msg), "error", redact.ParseError(err.Error()))
	c.control(out.Bytes(), "400")
}

// answer answers the request whose header section is header with status, unless
// it is no request or an ACK (rawreply.Answer); what says which message it was.
func (c *conn) answer(header []byte, status, what string) {
	var out bytes.Buffer
	answered := rawreply.Answer(&out, header, c.RemoteAddr(), status)
	c.l.log.V(1).Info("refusing "+what, "transport", c.l.transport, "remote", c.RemoteAddr().String(),
		"headerBytes", len(header), "answered", answered)
	if answered {
		c.control(out.Bytes(), status[:3])
	}
}

// control writes a response or keep-alive answer of ours. A Write is whole
// against sipgo's (net.TCPConn and tls.Conn each hold a lock through a Write),
// and sipgo sets no write deadline of its own that ours could undo. One that
// fails closes the connection: a peer that does not read for that long is gone,
// part of a message may have been written, and a TLS connection fails every
// write after a timeout.
func (c *conn) control(p []byte, what string) {
	_ = c.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
	_, err := c.Write(p)
	_ = c.SetWriteDeadline(time.Time{})
	if err != nil {
		c.l.log.V(1).Info("could not write a "+what+": closing the connection", "transport", c.l.transport,
			"remote", c.RemoteAddr().String(), "error", err.Error())
		_ = c.Close()
	}
}
