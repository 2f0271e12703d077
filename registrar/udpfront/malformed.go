package udpfront

import (
	"bytes"
	"net/netip"

	"github.com/voipbin/registrar-operator/registrar/internal/rawreply"
)

// A REGISTER sipgo's parser refuses is dropped, unless one header line of it is
// what the parser refuses, or its body is shorter than its Content-Length, and the
// lines a response needs are readable: then it is answered 400 with a reason
// naming that header (RFC 3261 §21.4.1) or the body (§18.3), so that the
// device learns what is wrong instead of retransmitting into silence (package
// rawreply, which the WebSocket server shares).

// appendMalformed appends to out the 400 for data, a REGISTER sipgo's parser
// refused with err, and returns where it goes; ok is false when it is not to be answered.
func appendMalformed(out *bytes.Buffer, data []byte, err error, from netip.AddrPort) (netip.AddrPort, bool) {
	reason, ok := rawreply.Reason(data, err)
	if !ok {
		return netip.AddrPort{}, false
	}
	return rawreply.BadRequest(out, data, from, reason)
}
