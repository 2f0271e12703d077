// Package sipparse parses REGISTER datagrams into sipgo's requests with few
// allocations.
package sipparse

import (
	"bytes"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Parser builds, for a REGISTER datagram, the same sip.Request that sipgo's
// parser builds, with a fraction of the allocations: the datagram is copied into one
// string and every header value is a slice of it, where sipgo copies each name and
// value on its own; the request and the headers a REGISTER usually carries share one
// allocation (slab.go). The header values are parsed as sipgo's header parsers parse
// them, through its own address and parameter parsers (headers.go), so what a header
// means cannot differ.
//
// It takes only the common shape of a REGISTER: one value per typed header, no
// folded lines, no malformed line. Anything else (a comma-separated Contact list, a
// header sipgo would refuse, a truncated body) is declined and goes to sipgo's
// parser, which gives the exact answer or error it always gave. Allocations are what
// the garbage collector paces on, and its pauses are the registrar's latency tail.
//
// The request's strings share the datagram's memory, so whatever outlives the
// request must copy the strings it keeps (location does: setString).
type Parser struct {
	sipgo   *sip.Parser
	headers map[string]typedHeader // by lower-case name, as sipgo looks them up
	// slab is the memory of the last request the fast path returned, reused by the
	// next: its 1.5 KB a request were a quarter of the bytes a registration
	// allocated, and bytes are what the collector paces on.
	slab *slab
}

// typedHeader is a header sipgo parses into its own type.
type typedHeader struct {
	lowerName []byte // what sipgo passes its parser; kept here so that no buffer escapes
	parse     sip.HeaderParser
}

// New returns a Parser. A request its fast path returns is valid until the next
// ParseSIP on the same Parser, which reuses its memory (its strings stay valid: they
// are the datagram's own copy); so each goroutine has a Parser of its own, and
// nothing keeps a request, or a header of it, past answering it. (A reader of the
// UDP front end parses, answers, renders and sends, then parses the next.)
func New() *Parser {
	typed := map[string]typedHeader{}
	for name, parse := range HeadersParsers() {
		typed[name] = typedHeader{lowerName: []byte(name), parse: parse}
	}
	return &Parser{sipgo: NewSipgoParser(), headers: typed}
}

// ParseSIP parses data as sipgo's Parser.ParseSIP does.
func (p *Parser) ParseSIP(data []byte) (sip.Message, error) {
	if req, ok := p.parseRegister(data); ok {
		return req, nil
	}
	return p.sipgo.ParseSIP(data)
}

var registerPrefix = []byte("REGISTER ")

// parseRegister is the fast path; false means "ask sipgo". Each step mirrors sipgo's
// Parser.Parse for a datagram (not a stream).
func (p *Parser) parseRegister(data []byte) (*sip.Request, bool) {
	if len(data) > p.sipgo.MaxMessageLength || !bytes.HasPrefix(data, registerPrefix) {
		return nil, false
	}
	msg := string(data)
	line, rest, ok := cutLine(msg)
	if !ok {
		return nil, false
	}
	if p.slab == nil {
		p.slab = new(slab)
	}
	s := p.slab
	*s = slab{}
	req := &s.req
	if !parseRequestLine(req, line) {
		return nil, false
	}
	var order [16]sip.Header // copied into one list of the right size: see setHeaders
	headers := order[:0]
	var contentLength *sip.ContentLengthHeader
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return nil, false
		}
		if line == "" {
			break // the empty line that ends the headers
		}
		if rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			return nil, false // a folded header: sipgo joins the lines
		}
		h, ok := p.parseHeader(s, line)
		if !ok {
			return nil, false
		}
		if cl, isLength := h.(*sip.ContentLengthHeader); isLength {
			contentLength = cl
		}
		headers = append(headers, h)
	}
	if len(headers) == 0 {
		return nil, false // sipgo's request keeps an empty list, not none
	}
	setHeaders(req, headers)
	return req, p.setBody(req, contentLength, data[len(data)-len(rest):])
}

// setHeaders gives req its headers in one allocation of their exact number, with
// the references sipgo's AppendHeader keeps: the first Via, Route and Record-Route,
// the last of any other kind. (AppendHeader would grow the list from sipgo's ten
// slots: a REGISTER with credentials has eleven headers.) PrependHeader refers to
// the last of each kind; ReplaceHeader, which puts a header in the place of the
// first of its name, here itself, points back to the first.
func setHeaders(req *sip.Request, headers []sip.Header) {
	req.PrependHeader(headers...)
	var via, route, recordRoute bool
	for _, h := range headers {
		switch h.(type) {
		case *sip.ViaHeader:
			if !via {
				via = true
				req.ReplaceHeader(h)
			}
		case *sip.RouteHeader:
			if !route {
				route = true
				req.ReplaceHeader(h)
			}
		case *sip.RecordRouteHeader:
			if !recordRoute {
				recordRoute = true
				req.ReplaceHeader(h)
			}
		}
	}
}

// cutLine splits off the line before the first CRLF; a CR without LF, or no CR at
// all, is not the common shape (sipgo answers both with an error).
func cutLine(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\r')
	if i < 0 || i+1 >= len(s) || s[i+1] != '\n' {
		return "", "", false
	}
	return s[:i], s[i+2:], true
}

// parseRequestLine reads "REGISTER <uri> SIP/2.0" into req as sipgo's start-line
// parser and NewRequest do.
func parseRequestLine(req *sip.Request, line string) bool {
	method, rest, ok := strings.Cut(line, " ")
	if !ok || method != string(sip.REGISTER) {
		return false
	}
	target, version, ok := strings.Cut(rest, " ")
	if !ok || len(version) < 3 || strings.IndexByte(version, ' ') >= 0 || !sip.UriIsSIP(version[:3]) {
		return false
	}
	// Parsed in place: a Uri of its own would escape to the heap, and NewRequest
	// would copy its parameters.
	req.Method = sip.REGISTER
	if err := sip.ParseUri(target, &req.Recipient); err != nil || req.Recipient.Wildcard {
		return false
	}
	req.SipVersion = version
	return true
}

// maxHeaderName is longer than any name sipgo has a parser for; a longer name is a
// generic header.
const maxHeaderName = 32

// parseHeader parses one unfolded header line into the one header sipgo would make,
// in s where it has room.
func (p *Parser) parseHeader(s *slab, line string) (sip.Header, bool) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return nil, false
	}
	name = strings.TrimSpace(name)
	value = strings.TrimSpace(value)

	var lower [maxHeaderName]byte
	if len(name) <= maxHeaderName {
		for i := 0; i < len(name); i++ {
			c := name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		// Neither the switch nor the map lookup with a converted key allocates.
		h, known, err := s.parseTyped(string(lower[:len(name)]), value)
		if known {
			// An error is either a bad value or a comma-separated list (sipgo
			// reports the comma as an error and loops): both go to sipgo.
			return h, err == nil
		}
		if typed, ok := p.headers[string(lower[:len(name)])]; ok {
			h, err := typed.parse(typed.lowerName, value)
			return h, err == nil
		}
	}
	return sip.NewHeader(name, value), true
}

// setBody reads the body after the headers as sipgo does for a datagram: all of it
// without a Content-Length, else exactly that many bytes.
func (p *Parser) setBody(req *sip.Request, contentLength *sip.ContentLengthHeader, rest []byte) bool {
	size := len(rest)
	if contentLength != nil {
		size = int(*contentLength)
	}
	if size == 0 {
		return true
	}
	if size > len(rest) {
		return false // truncated: sipgo reports it
	}
	body := make([]byte, size)
	copy(body, rest)
	req.SetBody(body)
	return true
}
