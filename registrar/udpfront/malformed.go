package udpfront

import (
	"bytes"
	"net/netip"

	"github.com/voipbin/registrar-operator/registrar/internal/rawreply"
	"github.com/voipbin/registrar-operator/registrar/internal/redact"
)

// A REGISTER sipgo's parser refuses is answered 400 when one header line of it is
// what the parser refuses, a header a response copies too (a CSeq out of range, a
// To that does not parse, a line without a colon), or its body is shorter than its
// Content-Length, with a reason naming that header (RFC 3261 §21.4.1) or the body
// (§18.3), so that the device learns what is wrong instead of retransmitting into
// silence (package rawreply, which the TCP, TLS and WebSocket servers share). Only
// a top Via that parses says where the answer goes: without one, or with nothing
// to name, the REGISTER is dropped as sipgo drops it, and counted
// (MalformedObserver). This path is off the one of a REGISTER that parses.

// MalformedObserver is an Observer that also counts the REGISTERs sipgo's parser
// refused.
type MalformedObserver interface {
	// Malformed counts one: answered 400, or dropped (no top Via that parses to
	// answer at, no header line or body to blame, or an ACK).
	Malformed(answered bool)
}

// refuse answers data, a REGISTER sipgo's parser refused with err, 400, or drops
// it. The data stays out of the log, and the parser's quote of it: it may hold an
// Authorization header.
func (a *answerer) refuse(data []byte, err error, from netip.AddrPort) {
	f := a.front
	a.shed.Reset()
	to, answered := appendMalformed(&a.shed, data, err, from)
	if o, ok := f.cfg.Observer.(MalformedObserver); ok {
		o.Malformed(answered)
	}
	if !answered {
		f.cfg.Log.V(1).Info("dropping an unparseable REGISTER", "source", from.String(), "bytes", len(data),
			"error", redact.ParseError(err.Error()))
		return
	}
	f.cfg.Log.V(1).Info("answering an unparseable REGISTER 400", "source", from.String(), "bytes", len(data),
		"error", redact.ParseError(err.Error()))
	a.send(a.shed.Bytes(), to)
}

// appendMalformed appends to out the 400 for data, a REGISTER sipgo's parser
// refused with err, and returns where it goes; ok is false when it is not to be answered.
func appendMalformed(out *bytes.Buffer, data []byte, err error, from netip.AddrPort) (netip.AddrPort, bool) {
	reason, ok := rawreply.Reason(data, err)
	if !ok {
		return netip.AddrPort{}, false
	}
	return rawreply.BadRequest(out, data, from, reason)
}
