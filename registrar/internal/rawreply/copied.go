package rawreply

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strconv"

	"github.com/voipbin/registrar-operator/registrar/internal/sentby"
)

// A 400 (or 513) to a request sipgo's parser refused, or a stream could not hand
// it, is written from the request's raw lines, the way a client matches it: by its
// top Via's branch and its CSeq (RFC 3261 §17.1.3). Via, From, To, Call-ID and CSeq
// are copied as they came, each one that sipgo's header parser takes: a value it
// refuses (the header the 400 names, as a rule) is left out, since a copy would
// make the 400 one the client's parser refuses too, and sipgo, for one, closes a
// stream connection on such a message. What is copied has any CR, LF or NUL turned
// into a space, so that no copied byte starts a line of its own, and is at most
// maxCopied bytes long: the answer never says more than the request did.
//
// Where the answer goes decides what it needs:
//
//   - over UDP, the top Via's sent-by is the address (RFC 3261 §18.2.2): without
//     a top Via that parses there is none, and no answer;
//   - over a stream (TCP, TLS, WebSocket), the connection the request came on is
//     the way back (RFC 3261 §18.2.2, RFC 7118 §5): a top Via that does not parse
//     leaves the 400 without Vias, which the client's transport may discard
//     (§18.1.2) but parses, and a trace shows what was wrong.
//
// Every answer is parsed before it is sent: one that sipgo's parser refuses is not
// sent. This path is rare, and a parse of each copied line and of the answer is
// its price.

// maxCopied bounds each value a 400 copies; a longer one is left out.
const maxCopied = 1024

// copiedLines are the values of a request's header lines a 400 copies.
type copiedLines struct {
	vias                   [][]byte // Via values as they came, a line each, top first
	from, to, callID, cseq []byte   // nil: none
}

// readCopied reads the lines a 400 copies from data, a request's header section
// and what follows; ok is false when data is not a request, or has no end of its
// header section, or a folded line (RFC 3261 §7.3.1: which lines the parser
// joined is its business). A line without a colon is passed over: it is no header.
// Of two From, To, Call-ID or CSeq lines, the first is copied.
func readCopied(data []byte) (h copiedLines, ok bool) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return h, false
	}
	start, rest, _ := bytes.Cut(data[:end+2], []byte("\r\n"))
	if !requestLine(start) {
		return h, false
	}
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			return h, false
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimRight(name, " \t")
		value = bytes.Trim(value, " \t")
		first := func(dst *[]byte) {
			if *dst == nil {
				*dst = value
			}
		}
		switch {
		case bytes.EqualFold(name, []byte("Via")), bytes.EqualFold(name, []byte("v")):
			h.vias = append(h.vias, value)
		case bytes.EqualFold(name, []byte("From")), bytes.EqualFold(name, []byte("f")):
			first(&h.from)
		case bytes.EqualFold(name, []byte("To")), bytes.EqualFold(name, []byte("t")):
			first(&h.to)
		case bytes.EqualFold(name, []byte("Call-ID")), bytes.EqualFold(name, []byte("i")):
			first(&h.callID)
		case bytes.EqualFold(name, []byte("CSeq")):
			first(&h.cseq)
		}
	}
	return h, true
}

// requestLine tells whether line is a request's start line, "Method SP
// Request-URI SP SIP/2.0" (RFC 3261 §7.1), its method a token (§25.1): not a
// response's, whose version comes first.
func requestLine(line []byte) bool {
	method, rest, _ := bytes.Cut(line, []byte(" "))
	uri, version, _ := bytes.Cut(rest, []byte(" "))
	if len(method) == 0 || len(uri) == 0 || string(version) != "SIP/2.0" {
		return false
	}
	for _, c := range method {
		if !isToken(c) {
			return false
		}
	}
	return true
}

// isToken tells whether c may be in a token (RFC 3261 §25.1).
func isToken(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("-.!%*_+`'~"), c) >= 0
}

// copyable returns value as a 400 may copy it under name: CR, LF and NUL turned
// into spaces, and only when sipgo's header parser takes it. ok is false for a
// value that is absent, empty, longer than maxCopied, or that the parser refuses,
// and for a Via with any of those bytes: the answer is not routed by a Via that
// is not the one the client sent.
func copyable(name string, value []byte) ([]byte, bool) {
	if len(value) == 0 || len(value) > maxCopied {
		return nil, false
	}
	if bytes.ContainsAny(value, "\r\n\x00") {
		if name == "Via" {
			return nil, false
		}
		value = spaced(value)
	}
	line := make([]byte, 0, len(name)+2+len(value))
	line = append(append(append(line, name...), ": "...), value...)
	if _, err := headerParsers.ParseHeader(nil, line); err != nil {
		return nil, false
	}
	if name == "CSeq" && !cseqInRange(value) {
		return nil, false
	}
	return value, true
}

// spaced is a copy of value with each CR, LF and NUL a space, byte by byte
// (bytes.Map would also rewrite what is no UTF-8).
func spaced(value []byte) []byte {
	c := bytes.Clone(value)
	for i, b := range c {
		if b == '\r' || b == '\n' || b == 0 {
			c[i] = ' '
		}
	}
	return c
}

// cseqInRange tells whether a CSeq value is a sequence number below 2**31 and a
// method (RFC 3261 §8.1.1.5), as sipgo's parser reads it now: what the copy
// stands on, should that parser ever read more.
func cseqInRange(value []byte) bool {
	seq, method, ok := bytes.Cut(value, []byte(" "))
	if !ok {
		seq, method, ok = bytes.Cut(value, []byte("\t"))
	}
	if !ok {
		return false
	}
	n, err := strconv.ParseUint(string(seq), 10, 32)
	return err == nil && n < 1<<31 && len(bytes.TrimSpace(method)) > 0
}

// appendCopied appends to out a response with status (code and reason) to data, a
// request read from its raw lines (readCopied), which came from from, over a
// stream when reliable, else in a datagram; it returns where the response goes
// over UDP. ok is false when there is nothing to answer (see above): nothing is
// then written.
func appendCopied(out *bytes.Buffer, data []byte, from netip.AddrPort, status string, reliable bool) (netip.AddrPort, bool) {
	h, ok := readCopied(data)
	if !ok {
		return netip.AddrPort{}, false
	}
	// The Vias copied: from the top, as far as each parses.
	var vias [][]byte
	for _, v := range h.vias {
		c, ok := copyable("Via", v)
		if !ok {
			break
		}
		vias = append(vias, c)
	}
	to := from
	var top topVia
	routed := false // the top Via's sent-by is read (readVia)
	if len(vias) > 0 {
		top, routed = readVia(vias[0])
		if routed && !top.rport {
			to = netip.AddrPortFrom(from.Addr(), top.port)
		}
	}
	if !reliable && !routed {
		return netip.AddrPort{}, false // over UDP, no address to answer at
	}

	start := out.Len()
	out.WriteString("SIP/2.0 ")
	out.WriteString(status)
	out.WriteString("\r\n")
	for i, v := range vias {
		out.WriteString("Via: ")
		if i == 0 && routed {
			writeTopVia(out, v, top, from)
		} else {
			out.Write(v)
		}
		out.WriteString("\r\n")
	}
	writeCopied(out, "From", h.from)
	if v, ok := copyable("To", h.to); ok {
		out.WriteString("To: ")
		out.Write(v)
		if !hasTag(v) {
			// RFC 3261 §8.2.6.2.
			var scratch [16]byte
			out.WriteString(";tag=")
			out.Write(strconv.AppendUint(scratch[:0], rand.Uint64(), 36))
		}
		out.WriteString("\r\n")
	}
	writeCopied(out, "Call-ID", h.callID)
	writeCopied(out, "CSeq", h.cseq)
	out.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := responseParser.ParseSIP(out.Bytes()[start:]); err != nil {
		out.Truncate(start)
		return netip.AddrPort{}, false
	}
	return to, true
}

// writeCopied writes the header line name: value when value may be copied
// (copyable), and nothing otherwise.
func writeCopied(out *bytes.Buffer, name string, value []byte) {
	v, ok := copyable(name, value)
	if !ok {
		return
	}
	out.WriteString(name)
	out.WriteString(": ")
	out.Write(v)
	out.WriteString("\r\n")
}

// writeTopVia writes v, the top Via's value read as top, with what RFC 3581 §4 and
// RFC 3261 §18.2.1 have a server add for a request that came from from: rport's
// value and received, or received where the sent-by is not the source address.
func writeTopVia(out *bytes.Buffer, v []byte, top topVia, from netip.AddrPort) {
	var scratch [64]byte // numbers and addresses are written through it, not allocated
	switch {
	case top.bareRport >= 0:
		// RFC 3581 §4: the port and address the request came from.
		out.Write(v[:top.bareRport])
		out.WriteString("=")
		out.Write(strconv.AppendUint(scratch[:0], uint64(from.Port()), 10))
		out.Write(v[top.bareRport:top.end])
		out.WriteString(";received=")
		out.Write(from.Addr().AppendTo(scratch[:0]))
		out.Write(v[top.end:])
	case !top.received && !sentby.IsSource(top.host, from.Addr()):
		// RFC 3261 §18.2.1: a sent-by other than the source address.
		out.Write(v[:top.end])
		out.WriteString(";received=")
		out.Write(from.Addr().Unmap().AppendTo(scratch[:0]))
		out.Write(v[top.end:])
	default:
		out.Write(v)
	}
}
