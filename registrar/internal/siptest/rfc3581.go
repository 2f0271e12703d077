package siptest

import (
	"fmt"
	"net"
	"strconv"

	"github.com/emiago/sipgo/sip"
)

// AnswerByVia answers r over UDP as Answer does, but sends the response where a
// UAS that follows RFC 3261 §18.2.2 and RFC 3581 §4 does, not back to r's source:
// to the address r came from (the received it notes, §18.2.1), at the source port
// only when the top Via asks for rport, else at the Via's sent-by port. Its top
// Via notes received and rport. It returns where it sent.
func (p *Phone) AnswerByVia(r Received, code int, reason string) net.Addr {
	p.t.Helper()
	to, err := ViaDestination(r)
	if err != nil {
		p.t.Fatal(err)
	}
	res := p.Response(r.Request, code, reason)
	src := r.From.(*net.UDPAddr) // ViaDestination checked it
	via := res.Via()
	via.Params.Add("received", src.IP.String())
	if v, ok := via.Params.Get("rport"); ok && v == "" {
		via.Params.Add("rport", strconv.Itoa(src.Port))
	}
	p.SendResponse(res, to)
	return to
}

// ViaDestination is where a response to r, a request that came over UDP, goes by
// its top Via (RFC 3261 §18.2.2, RFC 3581 §4): r's source address, at its source
// port when the Via has a bare rport, else at the Via's port (5060 when none).
func ViaDestination(r Received) (*net.UDPAddr, error) {
	src, ok := r.From.(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("the %s came from %v, not over UDP", r.Method, r.From)
	}
	via := r.Via()
	if via == nil {
		return nil, fmt.Errorf("the %s has no Via", r.Method)
	}
	port := via.Port
	if port == 0 {
		port = sip.DefaultPort("UDP")
	}
	if v, ok := via.Params.Get("rport"); ok && v == "" {
		port = src.Port
	}
	return &net.UDPAddr{IP: src.IP, Port: port}, nil
}
