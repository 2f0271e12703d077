package udpfront

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// replyAddress is where a response to req goes over UDP (RFC 3261 §18.2.2 with the
// received address of §18.2.1, and RFC 3581): the address the request came from,
// at its source port when the top Via asks for rport, else at the Via's port
// (5060 when it names none). This is what sipgo's transport does for the requests
// it answers, so a device sees no difference between the two paths.
func replyAddress(req *sip.Request, from netip.AddrPort) netip.AddrPort {
	via := req.Via()
	if via == nil {
		return from
	}
	if _, i := sipparse.Param(via.Params, "rport"); i >= 0 {
		return from // "; rport" too (RFC 3261 §25.1)
	}
	port := via.Port
	if port <= 0 || port > 65535 {
		port = sip.DefaultUdpPort
	}
	return netip.AddrPortFrom(from.Addr(), uint16(port))
}
