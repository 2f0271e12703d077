package udpfront

import (
	"bytes"
	"math/rand/v2"
	"net/netip"

	"github.com/voipbin/registrar-operator/registrar/internal/rawreply"
)

// shedEarly sheds m before any parse when admission says so (it carries no
// credentials, and the waits stood past ShedAge or its batch found the socket's
// buffer crowded), and reports whether it did: a 503 while the refusal budget allows one
// (shed_budget.go), else a drop. Shedding is what the readers do most of under
// overload, so its cost sets how much of their time is left for the REGISTERs that
// complete registrations: a drop reads the line starts, a 503 the few header lines
// it copies, nothing else. A REGISTER it cannot read that simply (a folded line, a
// header twice) goes on to the full path, which decides the same.
func (f *Front) shedEarly(a *answerer, m *received, now int64) bool {
	if !a.shedding {
		return false
	}
	if rawCredentials(m.data) {
		return false // the second half of a registration: always answered
	}
	if !a.refusals.allow(m.from.Addr(), now) {
		// The source, or all of them, had their 503s for now: dropped before
		// anything else is read of it.
		f.shed.ShedUnanswered()
		return true
	}
	a.shed.Reset()
	to, ok := appendUnavailable(&a.shed, m.data, m.from)
	if !ok {
		return false
	}
	f.shed.Shed()
	a.send(a.shed.Bytes(), to)
	return true
}

// appendUnavailable appends to out the 503 with Retry-After that unavailable gives
// the REGISTER in data, read from its raw lines, and returns where it goes (as
// replyAddress). ok is false when data carries credentials, or is not plain enough
// to answer without the parser.
func appendUnavailable(out *bytes.Buffer, data []byte, from netip.AddrPort) (netip.AddrPort, bool) {
	return rawreply.Unavailable(out, data, from, 1+rand.IntN(retryAfterSeconds))
}
