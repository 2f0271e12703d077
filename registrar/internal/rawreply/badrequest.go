package rawreply

import (
	"bytes"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// A request sipgo's parser refuses is answered 400 naming the header line at
// fault (RFC 3261 §21.4.1), a header a response copies too: a CSeq that is no
// number, out of range (RFC 3261 §8.1.1.5: below 2**31) or without a method, a To
// or From that does not parse, an empty Call-ID, a Via that does not parse, a line
// without a colon. The answer is written from the raw lines (copied.go). The
// reason is our own words, never the message's, which may hold an Authorization
// header.

// headerParsers are sipgo's header parsers, which its message parser applies line
// by line.
var headerParsers = sip.HeadersParser(sip.DefaultHeadersParser())

// malformedReasons are the reason phrases of the 400, by the lower-case header
// name sipgo's parsers know (compact forms too).
var malformedReasons = map[string]string{
	"via": "Malformed Via Header", "v": "Malformed Via Header",
	"from": "Malformed From Header", "f": "Malformed From Header",
	"to": "Malformed To Header", "t": "Malformed To Header",
	"call-id": "Malformed Call-ID Header", "i": "Malformed Call-ID Header",
	"cseq":    "Malformed CSeq Header",
	"contact": "Malformed Contact Header", "m": "Malformed Contact Header",
	"max-forwards":   "Malformed Max-Forwards Header",
	"content-length": "Malformed Content-Length Header", "l": "Malformed Content-Length Header",
	"content-type": "Malformed Content-Type Header", "c": "Malformed Content-Type Header",
	"route":        "Malformed Route Header",
	"record-route": "Malformed Record-Route Header",
	"refer-to":     "Malformed Refer-To Header",
	"referred-by":  "Malformed Referred-By Header",
}

// NoColonReason is the 400's reason for a header line without a colon, which names
// no header.
const NoColonReason = "Malformed Header Line"

// HeaderReason is the reason phrase of the 400 to data, a request sipgo's parser
// refused, naming the first header line its header parsers refuse (RFC 3261
// §21.4.1). ok is false when no line is to blame (the start line, the body), or
// when a line is folded: the parser joins folded lines, so that one line alone
// says nothing.
func HeaderReason(data []byte) (reason string, ok bool) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return "", false
	}
	_, rest, _ := bytes.Cut(data[:end+2], []byte("\r\n"))
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			return "", false
		}
		if reason != "" {
			continue // the first is named; the rest are read for a folded line
		}
		if _, err := headerParsers.ParseHeader(nil, line); err == nil {
			continue
		}
		name, _, hasColon := bytes.Cut(line, []byte(":"))
		if !hasColon {
			reason = NoColonReason
			continue
		}
		why, known := malformedReasons[string(bytes.ToLower(bytes.TrimSpace(name)))]
		if !known {
			return "", false // one we cannot name (sipgo refuses none other)
		}
		reason = why
	}
	return reason, reason != ""
}

// BadRequest appends to out the 400 with reason to data, a request that came in a
// datagram from from and that sipgo's parser refused, and returns where it goes;
// ok is false when it is not to be answered: a response, an ACK (which no response
// answers, RFC 3261 §17), or a request whose top Via does not parse, which leaves
// no address to answer at (see appendCopied).
func BadRequest(out *bytes.Buffer, data []byte, from netip.AddrPort, reason string) (netip.AddrPort, bool) {
	if bytes.HasPrefix(data, []byte("ACK ")) {
		return netip.AddrPort{}, false
	}
	return appendCopied(out, data, from, "400 "+reason, false)
}

// responseParser checks the 400s; sipgo's Parser is not changed by parsing, so
// every reader shares it.
var responseParser = sip.NewParser()
