package wsserve

import (
	"bytes"
	"net"
	"net/netip"
	"sync"

	"github.com/gobwas/ws"

	"github.com/voipbin/registrar-operator/registrar/internal/rawreply"
	"github.com/voipbin/registrar-operator/registrar/internal/redact"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// sipgo v1.7.3 closes a WebSocket connection on the first message its parser
// refuses (transport_ws.go, readConnection), without a response: a browser loses
// its flow, and its registration with it (RFC 5626). Yet each message comes whole
// in a WebSocket message of its own (RFC 7118 §5.1), so a bad one can be dealt with
// on its own, as a datagram is (RFC 3261 §16.3, §18.3): a request whose lines a
// response copies are readable is answered 400 (package rawreply, as the UDP front
// end answers), anything else is dropped, and the connection stays.
//
// sipgo has no hook on that failure, and its read loop, once ended, cannot be
// resumed; so each message is parsed here before sipgo gets it. The parser is the
// one sipgo is given (sipparse.NewSipgoParser) behind sipparse's fast path for a
// REGISTER of the common shape, which agrees with it error for error
// (FuzzRegisterParser). That second parse is the price, for good messages too:
// about 4 µs and 8 allocations for a browser's REGISTER (sipgo's parser alone
// takes twice the time and 50), a parse of sipgo's for anything else: 5 µs and 22
// for a short MESSAGE (BenchmarkParseBeforeSipgo). A hook in sipgo would make it
// one parse.

// parsers are sipparse's Parsers: one reuses its memory from parse to parse, so
// each is used by one reading goroutine at a time.
var parsers = sync.Pool{New: func() any { return sipparse.New() }}

// parse parses msg as sipgo will, and returns its error.
func parse(msg []byte) error {
	p := parsers.Get().(*sipparse.Parser)
	defer parsers.Put(p)
	_, err := p.ParseSIP(msg)
	return err
}

// keepAlive tells whether msg is what sipgo takes for a keep-alive, not a message:
// one or two CRLFs (RFC 5626 §3.5.1).
func keepAlive(msg []byte) bool {
	return len(msg) > 0 && len(msg) <= 4 && len(bytes.Trim(msg, "\r\n")) == 0
}

// refuse answers msg, which the parser refused with err, 400 on the connection, or
// drops it. Neither msg nor the parser's quote of it is logged: it may hold an
// Authorization header.
func (c *conn) refuse(msg []byte, err error) {
	remote := c.RemoteAddr()
	var out bytes.Buffer
	from, known := source(remote)
	if !known || !appendRefusal(&out, msg, err, from) {
		c.l.log.V(1).Info("dropping an unparsable SIP message over WebSocket", "remote", remote.String(),
			"bytes", len(msg), "error", redact.ParseError(err.Error()))
		return
	}
	c.l.log.V(1).Info("answering an unparsable SIP request over WebSocket 400", "remote", remote.String(),
		"bytes", len(msg), "error", redact.ParseError(err.Error()))
	if err := c.writeFrame(ws.NewTextFrame(out.Bytes())); err != nil {
		c.l.log.V(1).Info("could not send a 400 over WebSocket", "remote", remote.String(), "error", err.Error())
	}
}

// appendRefusal appends to out the 400 for msg, which sipgo's parser refused with
// err, coming from from, and reports whether it wrote one: only to a request, not
// an ACK, whose body is shorter than its Content-Length or one of whose header
// lines is malformed, when the lines a response copies are readable (package
// rawreply).
func appendRefusal(out *bytes.Buffer, msg []byte, err error, from netip.AddrPort) bool {
	reason, ok := rawreply.Reason(msg, err)
	if !ok {
		return false
	}
	_, ok = rawreply.BadRequest(out, msg, from, reason)
	return ok
}

// source is the address the peer connected from, as a 400's Via names it.
func source(a net.Addr) (netip.AddrPort, bool) {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := t.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
}
