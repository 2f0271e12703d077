package rawreply

import (
	"bytes"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// A request sipgo's parser refuses is answered 400 only when the lines a response
// needs are readable: each of Via, From, To, Call-ID and CSeq parses and is there
// once (a Via or CSeq that does not parse would make a response the client cannot
// match, or send it anywhere); they are copied as they came. The reason is our own
// words, never the message's, which may hold an Authorization header.

// headerParsers are sipgo's header parsers, which its message parser applies line
// by line.
var headerParsers = sip.HeadersParser(sip.DefaultHeadersParser())

// malformedReasons are the reason phrases of the 400, by the lower-case header
// name sipgo's parsers know (compact forms too). Those a response copies (Via,
// From, To, Call-ID, CSeq) are missing on purpose: a request where one of them is
// at fault is dropped.
var malformedReasons = map[string]string{
	"contact": "Malformed Contact Header", "m": "Malformed Contact Header",
	"max-forwards":   "Malformed Max-Forwards Header",
	"content-length": "Malformed Content-Length Header", "l": "Malformed Content-Length Header",
	"content-type": "Malformed Content-Type Header", "c": "Malformed Content-Type Header",
	"route":        "Malformed Route Header",
	"record-route": "Malformed Record-Route Header",
	"refer-to":     "Malformed Refer-To Header",
	"referred-by":  "Malformed Referred-By Header",
}

// HeaderReason is the reason phrase of the 400 to data, a request sipgo's parser
// refused, naming the first header line its header parsers refuse (RFC 3261
// §21.4.1). ok is false when no line is to blame (the start line, the body, a
// folded line: the parser joins folded lines, so that one line alone says
// nothing), or when a header a response copies is one of them.
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
		if _, err := headerParsers.ParseHeader(nil, line); err == nil {
			continue
		}
		name, _, hasColon := bytes.Cut(line, []byte(":"))
		why, known := malformedReasons[string(bytes.ToLower(bytes.TrimSpace(name)))]
		if !hasColon || !known {
			return "", false // a header a response copies, or one we cannot name
		}
		if reason == "" {
			reason = why // the first; the rest are read for one a response copies
		}
	}
	return reason, reason != ""
}

// BadRequest appends to out the 400 with reason to data, a request sipgo's parser
// refused, and returns where it goes over UDP; ok is false when it is not to be
// answered: a response, an ACK (which no response answers, RFC 3261 §17), a
// request whose lines a response copies are not readable (see above), or one whose
// 400 would not parse.
func BadRequest(out *bytes.Buffer, data []byte, from netip.AddrPort, reason string) (netip.AddrPort, bool) {
	if bytes.HasPrefix(data, []byte("ACK ")) {
		return netip.AddrPort{}, false
	}
	return appendChecked(out, data, from, "400 "+reason)
}

// appendChecked is appendFromRaw for a request the parser refused, or could not
// frame. The lines copied were read only as far as addressing the response needs;
// a request malformed in one place may be in others (a Via's protocol, say) that
// a client's parser would refuse in the response too. Such a response is not sent:
// this path is rare, and a parse of the response is its price.
func appendChecked(out *bytes.Buffer, data []byte, from netip.AddrPort, status string) (netip.AddrPort, bool) {
	start := out.Len()
	to, ok := appendFromRaw(out, data, from, status, 0)
	if !ok {
		return netip.AddrPort{}, false
	}
	if _, err := responseParser.ParseSIP(out.Bytes()[start:]); err != nil {
		out.Truncate(start)
		return netip.AddrPort{}, false
	}
	return to, true
}

// responseParser checks the 400s; sipgo's Parser is not changed by parsing, so
// every reader shares it.
var responseParser = sip.NewParser()
