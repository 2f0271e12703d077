package rawreply

import (
	"bytes"
	"net"
	"net/netip"
)

// Refusal appends to out the 400 to msg, a request that came over a connection
// from remote and that sipgo's parser refused with err, and reports whether it
// wrote one: only to a request, not an ACK, whose body is shorter than its
// Content-Length or one of whose header lines is malformed (HeaderReason). The
// connection is the way back: a Via that does not parse does not stop it
// (copied.go).
func Refusal(out *bytes.Buffer, msg []byte, err error, remote net.Addr) bool {
	reason, ok := Reason(msg, err)
	if !ok {
		return false
	}
	return Answer(out, msg, remote, "400 "+reason)
}

// Answer appends to out a response with status (code and reason) to the request
// whose header section is msg, which came over a connection from remote, and
// reports whether it wrote one: not to a response or an ACK, nor to what has no
// end of its header section or a folded line (copied.go).
func Answer(out *bytes.Buffer, msg []byte, remote net.Addr, status string) bool {
	from, ok := source(remote)
	if !ok || bytes.HasPrefix(msg, []byte("ACK ")) {
		return false
	}
	_, ok = appendCopied(out, msg, from, status, true)
	return ok
}

// source is the address a peer connected from, as a response's Via names it.
func source(a net.Addr) (netip.AddrPort, bool) {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := t.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
}
