package streamserve

import (
	"io"
	"net"
	"time"
)

// A connection whose framing is lost ends after our 400 with a lingering close,
// as HTTP servers end a connection they refuse: our side is shut for writing (a
// TLS close_notify, then a FIN) and what the peer still sends is read and
// dropped, within these bounds, before the connection closes. Closed at once
// with its stream unread, the kernel would reset it, and a reset that reaches
// the peer before the 400 destroys the 400 (a reset discards what is queued to
// send, and what the peer has not read yet): the phone would never learn why.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 256 << 10
)

// lingeringClose half-closes c and drains it, for the caller to close; see above.
func lingeringClose(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(lingerTime))
	raw := c
	for {
		if w, ok := raw.(interface{ CloseWrite() error }); ok {
			if err := w.CloseWrite(); err != nil {
				return // a peer that does not read, or a connection already gone
			}
		}
		inner, ok := raw.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		raw = inner.NetConn()
	}
	// The bytes under TLS are read raw: they are dropped anyway, and a TLS
	// record torn by the limit must not make an error of the drain.
	_ = raw.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, raw, lingerBytes)
}
