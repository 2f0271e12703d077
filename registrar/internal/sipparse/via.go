package sipparse

import (
	"maps"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// A Via's sent-by may have whitespace around its ':' and before the ';' of its
// parameters (RFC 3261 §25.1: COLON and SEMI allow SWS), as in
// "SIP/2.0/UDP 10.0.0.5:5060 ; branch=z9hG4bK-1 ; rport". sipgo's Via parser reads
// the port up to the ';' without trimming it: "5060 " is no number, and it gives
// up without an error, with neither host nor port nor any parameter. A phone
// behind a NAT that writes "; rport" then gets its responses at its Contact's port,
// not the pinhole its REGISTER opened. So the registrar's parsers (sipgo's, which
// the registrar configures with HeadersParsers, and the fast path's, which builds
// exactly its request) read a Via whose sent-by has such whitespace as if the
// whitespace were where sipgo reads it (viaText), and trim the names and values
// of its parameters (trimParams): sipgo reads rport, received and branch itself
// (where a response goes, the transaction's key) without trimming. The
// parameters of other headers keep their whitespace: readers trim it (Param, as
// register's paramName), and read Via parameters so too, for a Via built
// otherwise.

// HeadersParsers is sipgo's default header parsers with the registrar's Via
// parser, which reads a sent-by with whitespace (viaText): the parsers of the
// registrar's sipgo user agent (TCP, TLS, WebSocket) and of the fast path's
// fallback.
func HeadersParsers() map[string]sip.HeaderParser {
	m := make(map[string]sip.HeaderParser, len(sip.DefaultHeadersParser()))
	maps.Copy(m, sip.DefaultHeadersParser())
	sipgoVia := m["via"]
	via := func(name []byte, text string) (sip.Header, error) {
		h, err := sipgoVia(name, viaText(text))
		if v, ok := h.(*sip.ViaHeader); ok {
			trimParams(v.Params)
		}
		return h, err
	}
	m["via"], m["v"] = via, via
	return m
}

// NewSipgoParser is sipgo's parser with HeadersParsers.
func NewSipgoParser() *sip.Parser {
	return sip.NewParser(sip.WithHeadersParsers(HeadersParsers()))
}

// viaText returns the Via value s (from its first value on: sipgo parses the
// values of a list one after the other) with the whitespace of its first value's
// sent-by moved to where sipgo's parser skips it, or s itself when there is none
// to move. The text keeps its length, so the offsets sipgo reports (the comma
// before the next value) stay right: the whitespace goes after the ';' or ','
// that ends the sent-by (the parameter parser skips it, as the protocol parser
// does), or, when the sent-by ends the value, before a host name or address
// (trimmed) or after an IPv6 reference's ':' (its port is trimmed).
// Whitespace that is not next to the ':' or at the ends (a space inside a name)
// is left as it is.
func viaText(s string) string {
	start, ok := sentByStart(s)
	if !ok {
		return s
	}
	// Every Via of every request comes here: byte loops, not IndexAny, which
	// builds its set per call, and at once out when the sent-by has no whitespace.
	end, spaced := start, false
	for ; end < len(s) && s[end] != ';' && s[end] != ','; end++ {
		spaced = spaced || s[end] == ' ' || s[end] == '\t'
	}
	if !spaced {
		return s
	}
	sentBy := s[start:end]
	host := strings.TrimLeft(sentBy, " \t")
	if !strings.ContainsAny(host, " \t") && (len(host) == len(sentBy) || host == "" || host[0] != '[') {
		return s // nothing sipgo cannot read
	}
	var kept, spaces []byte
	for i := 0; i < len(sentBy); i++ {
		c := sentBy[i]
		if c != ' ' && c != '\t' {
			kept = append(kept, c)
			continue
		}
		j := i
		for j < len(sentBy) && (sentBy[j] == ' ' || sentBy[j] == '\t') {
			j++
		}
		if i > 0 && j < len(sentBy) && sentBy[i-1] != ':' && sentBy[j] != ':' {
			return s // inside a name: not ours to join
		}
		spaces = append(spaces, sentBy[i:j]...)
		i = j - 1
	}
	out := make([]byte, 0, len(s))
	out = append(out, s[:start]...)
	switch {
	case end < len(s):
		out = append(out, kept...)
		out = append(out, s[end])
		out = append(out, spaces...)
		out = append(out, s[end+1:]...)
	case len(kept) > 0 && kept[0] == '[':
		colon := strings.Index(string(kept), "]:")
		if colon < 0 {
			colon = len(kept) - 2 // after the ']' (sipgo keeps the host and stops)
		}
		out = append(out, kept[:colon+2]...)
		out = append(out, spaces...)
		out = append(out, kept[colon+2:]...)
	default:
		out = append(out, spaces...)
		out = append(out, kept...)
	}
	return string(out)
}

// sentByStart is where sipgo's Via parser starts reading the sent-by of s: past
// the protocol's two '/' and the first space or tab after them.
func sentByStart(s string) (int, bool) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return 0, false
	}
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return 0, false
	}
	for k := i + 1 + j + 1; k < len(s); k++ {
		if s[k] == ' ' || s[k] == '\t' {
			return k + 1, true
		}
	}
	return 0, false
}

// Param returns the value of the parameter name (in any letter case) of params,
// name and value read through the whitespace RFC 3261 §25.1 allows around ';'
// and '=' ("; rport", "branch = z9hG4bK…"), which sipgo's parsers, and ours, keep
// in them. i is its index in params, -1 when there is none.
func Param(params sip.HeaderParams, name string) (value string, i int) {
	for i, kv := range params {
		if strings.EqualFold(strings.TrimSpace(kv.K), name) {
			return strings.TrimSpace(kv.V), i
		}
	}
	return "", -1
}

// trimParams trims the names and values of a Via's parameters in place ("; rport"
// is rport, "branch = z9hG4bK-1 " is branch=z9hG4bK-1).
func trimParams(params sip.HeaderParams) {
	for i := range params {
		params[i].K = strings.TrimSpace(params[i].K)
		params[i].V = strings.TrimSpace(params[i].V)
	}
}
