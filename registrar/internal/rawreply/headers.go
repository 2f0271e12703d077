package rawreply

import (
	"bytes"
	"strconv"
)

// maxVias is as many Via values as a request answered from its raw lines may have
// on their own lines; one with more goes to the parser.
const maxVias = 8

// sipHeaders are the lines of a request's header a response copies.
type sipHeaders struct {
	vias                    [maxVias][]byte // values, top first
	nVias                   int
	from, to, callID, cseq  []byte
	credentials, unreadable bool
}

// add reads one header line.
func (h *sipHeaders) add(line []byte) {
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
		h.unreadable = true // folded (RFC 3261 §7.3.1): the parser's job
		return
	}
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		h.unreadable = true
		return
	}
	name = bytes.TrimRight(name, " \t")
	value = bytes.Trim(value, " \t")
	one := func(dst *[]byte) {
		if *dst != nil {
			h.unreadable = true // twice: the parser says what is wrong
		}
		*dst = value
	}
	switch {
	case bytes.EqualFold(name, []byte("Authorization")), bytes.EqualFold(name, []byte("Proxy-Authorization")):
		h.credentials = true
	case bytes.EqualFold(name, []byte("Via")), bytes.EqualFold(name, []byte("v")):
		if h.nVias == maxVias {
			h.unreadable = true
			return
		}
		h.vias[h.nVias] = value
		h.nVias++
	case bytes.EqualFold(name, []byte("From")), bytes.EqualFold(name, []byte("f")):
		one(&h.from)
	case bytes.EqualFold(name, []byte("To")), bytes.EqualFold(name, []byte("t")):
		one(&h.to)
	case bytes.EqualFold(name, []byte("Call-ID")), bytes.EqualFold(name, []byte("i")):
		one(&h.callID)
	case bytes.EqualFold(name, []byte("CSeq")):
		one(&h.cseq)
	}
}

// topVia is what a response needs of the top Via.
type topVia struct {
	port      uint16 // the sent-by port, 5060 when it names none
	host      []byte // the sent-by host, an IPv6 literal in its brackets
	received  bool   // it has a received parameter
	rport     bool   // it asks for rport (RFC 3581)
	bareRport int    // where "rport" without a value ends in the line, else -1
	end       int    // where the top Via's value ends in the line (at a comma, or the end)
}

// readVia reads the top Via of a Via line: "SIP/2.0/UDP host[:port];param…",
// through the whitespace RFC 3261 §25.1 allows around the sent-by's ':' and the
// parameters' ';' and '=' ("10.0.0.5:5060 ; branch=z9hG4bK-1 ; rport"), as the
// parser does (sipparse). Other spaces (in the protocol, or inside the host or
// port), or a quote, are left to the parser.
func readVia(v []byte) (topVia, bool) {
	top := topVia{port: 5060, bareRport: -1, end: len(v)}
	if i := bytes.IndexByte(v, ','); i >= 0 {
		top.end = i
	}
	first := v[:top.end]
	proto, sentBy, ok := bytes.Cut(first, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("SIP/2.0/")) || bytes.IndexByte(sentBy, '"') >= 0 {
		return top, false
	}
	offset := len(proto) + 1
	hostPort, params, _ := bytes.Cut(sentBy, []byte(";"))
	host, port, ok := viaSentBy(hostPort)
	if !ok {
		return top, false
	}
	top.host, top.port = host, port
	at := offset + len(hostPort)
	for len(params) > 0 {
		var param []byte
		param, params, _ = bytes.Cut(params, []byte(";"))
		at += 1 + len(param)
		name, value, hasValue := bytes.Cut(param, []byte("="))
		name = bytes.Trim(name, " \t")
		if bytes.EqualFold(name, []byte("received")) {
			top.received = true
		}
		if bytes.EqualFold(name, []byte("rport")) {
			top.rport = true
			if !hasValue {
				// "=port" goes right after the name, before any space.
				top.bareRport = at - (len(param) - len(bytes.TrimRight(param, " \t")))
			} else if len(bytes.Trim(value, " \t")) == 0 {
				return top, false // "rport=": the parser's to read
			}
		}
	}
	return top, true
}

// viaSentBy reads a sent-by (host, host:port, [v6] or [v6]:port, with whitespace
// around it and its ':'): the host (an IPv6 literal in its brackets) and the port,
// 5060 when it names none.
func viaSentBy(hostPort []byte) (host []byte, port uint16, ok bool) {
	hostPort = bytes.Trim(hostPort, " \t")
	host, port = hostPort, 5060
	if i := bytes.LastIndexByte(hostPort, ':'); i >= 0 && bytes.LastIndexByte(hostPort, ']') < i {
		p, err := strconv.ParseUint(string(bytes.Trim(hostPort[i+1:], " \t")), 10, 16)
		if err != nil || p == 0 {
			return nil, 0, false
		}
		host, port = bytes.TrimRight(hostPort[:i], " \t"), uint16(p)
	}
	if len(host) == 0 || bytes.ContainsAny(host, " \t") {
		return nil, 0, false
	}
	return host, port, true
}

// hasTag tells whether a To value has a tag parameter (after the URI's closing >,
// or after the bare URI, which then has no parameters of its own).
func hasTag(to []byte) bool {
	params := to
	if i := bytes.LastIndexByte(to, '>'); i >= 0 {
		params = to[i+1:]
	}
	_, params, more := bytes.Cut(params, []byte(";"))
	for more {
		var param []byte
		param, params, more = bytes.Cut(params, []byte(";"))
		name, _, _ := bytes.Cut(param, []byte("="))
		if bytes.EqualFold(bytes.TrimSpace(name), []byte("tag")) {
			return true
		}
	}
	return false
}
