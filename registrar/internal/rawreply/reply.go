// Package rawreply writes a response to a request from the request's raw header
// lines, without sipgo's parser: the 503 the UDP front end sheds a REGISTER with,
// which must cost less than a parse (here), and the 400 to a request the parser
// refuses (RFC 3261 §21.4.1), which it cannot read (copied.go). The UDP front end,
// the TCP and TLS server (package streamserve) and the WebSocket server (package
// wsserve) answer that way.
package rawreply

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strconv"
)

// Unavailable appends to out the 503 with Retry-After (seconds) to the request in
// data, read from its raw lines, and returns where it goes over UDP (as
// udpfront's replyAddress). ok is false when data carries credentials, or is not
// plain enough to answer without the parser.
func Unavailable(out *bytes.Buffer, data []byte, from netip.AddrPort, retryAfter int) (netip.AddrPort, bool) {
	return appendFromRaw(out, data, from, "503 Service Unavailable", retryAfter)
}

// appendFromRaw appends to out a response with status (code and reason) to the
// request in data, its Via, From, To, Call-ID and CSeq copied from the raw lines,
// and returns where it goes over UDP: the 503's, on the path of requests that
// parse; a 400 is appendCopied's. A retryAfter above 0 adds Retry-After and
// refuses a request that carries credentials (the full path answers those); ok is
// false when data is not plain enough to answer without the parser.
func appendFromRaw(out *bytes.Buffer, data []byte, from netip.AddrPort, status string, retryAfter int) (netip.AddrPort, bool) {
	unavailable := retryAfter > 0
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return netip.AddrPort{}, false
	}
	line, rest, _ := bytes.Cut(data[:end+2], []byte("\r\n"))
	if !bytes.HasSuffix(line, []byte(" SIP/2.0")) {
		return netip.AddrPort{}, false
	}
	var h sipHeaders
	for len(rest) > 0 && (!unavailable || !h.credentials) && !h.unreadable {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		h.add(line)
	}
	if (unavailable && h.credentials) || h.unreadable || h.nVias == 0 || h.from == nil || h.to == nil || h.callID == nil || h.cseq == nil {
		return netip.AddrPort{}, false
	}
	top, ok := readVia(h.vias[0])
	if !ok {
		return netip.AddrPort{}, false
	}
	to := netip.AddrPortFrom(from.Addr(), top.port)
	if top.rport {
		to = from
	}
	var scratch [64]byte // numbers and addresses are written through it, not allocated
	out.WriteString("SIP/2.0 ")
	out.WriteString(status)
	out.WriteString("\r\n")
	for i, v := range h.vias[:h.nVias] {
		out.WriteString("Via: ")
		if i == 0 {
			writeTopVia(out, v, top, from)
		} else {
			out.Write(v)
		}
		out.WriteString("\r\n")
	}
	out.WriteString("From: ")
	out.Write(h.from)
	out.WriteString("\r\nTo: ")
	out.Write(h.to)
	if !hasTag(h.to) {
		// RFC 3261 §8.2.6.2.
		out.WriteString(";tag=")
		out.Write(strconv.AppendUint(scratch[:0], rand.Uint64(), 36))
	}
	out.WriteString("\r\nCall-ID: ")
	out.Write(h.callID)
	out.WriteString("\r\nCSeq: ")
	out.Write(h.cseq)
	if unavailable {
		out.WriteString("\r\nRetry-After: ")
		out.Write(strconv.AppendInt(scratch[:0], int64(retryAfter), 10))
	}
	out.WriteString("\r\nContent-Length: 0\r\n\r\n")
	return to, true
}
