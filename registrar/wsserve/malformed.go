package wsserve

import (
	"bytes"

	"github.com/gobwas/ws"

	"github.com/voipbin/registrar-operator/registrar/internal/rawreply"
	"github.com/voipbin/registrar-operator/registrar/internal/redact"
)

// sipgo v1.7.3 closes a WebSocket connection on the first message its parser
// refuses (transport_ws.go, readConnection), without a response: a browser loses
// its flow, and its registration with it (RFC 5626). Yet each message comes whole
// in a WebSocket message of its own (RFC 7118 §5.1), so a bad one can be dealt with
// on its own, as a datagram is (RFC 3261 §16.3, §18.3): a request is answered 400
// naming the header at fault, one a response copies too, its Via even, since the
// connection is the way back (package rawreply, as the UDP front end answers);
// anything else is dropped, and the connection stays.
//
// sipgo has no hook on that failure, and its read loop, once ended, cannot be
// resumed; so each message is parsed here before sipgo gets it (sipparse.Check:
// the parser sipgo is given, behind sipparse's fast path for a REGISTER of the
// common shape, which agrees with it error for error). That second parse is the price, for good messages too:
// about 4 µs and 8 allocations for a browser's REGISTER (sipgo's parser alone
// takes twice the time and 50), a parse of sipgo's for anything else: 5 µs and 22
// for a short MESSAGE (BenchmarkParseBeforeSipgo). A hook in sipgo would make it
// one parse.

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
	if !rawreply.Refusal(&out, msg, err, remote) {
		c.l.log.V(1).Info("dropping an unparsable SIP message over WebSocket", "remote", remote.String(),
			"bytes", len(msg), "error", redact.ParseError(err.Error()))
		return
	}
	c.l.log.V(1).Info("answering an unparsable SIP request over WebSocket 400", "remote", remote.String(),
		"bytes", len(msg), "error", redact.ParseError(err.Error()))
	if err := c.writeFrame(ws.NewTextFrame(out.Bytes())); err != nil {
		// Part of the frame may be out, and a TLS connection fails every write
		// after a timeout: the connection is of no more use.
		c.l.log.V(1).Info("could not send a 400 over WebSocket: closing the connection", "remote", remote.String(), "error", err.Error())
		_ = c.Close()
	}
}
