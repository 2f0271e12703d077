package sipparse

import (
	"errors"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// The parsers below fill the slab's headers as sipgo's own header parsers fill the
// ones they allocate, step for step (sipgo v1.7.3's parse_via.go, parse_address.go
// and parse_header.go), through sipgo's exported address and parameter parsers
// where it has them. An error only means "decline": sipgo's parser then answers the
// datagram, with its own error. FuzzRegisterParser holds them to sipgo's result.

// errDecline is any value sipgo's parser would refuse, or would split on a comma.
var errDecline = errors.New("not the common shape")

// maxCSeq is the largest sequence number sipgo accepts (2**31 - 1).
const maxCSeq = 1<<31 - 1

// parseTyped parses value into the slab's header for lower, a lower-case header
// name; known is false for a header it has no parser for.
func (s *slab) parseTyped(lower, value string) (h sip.Header, known bool, err error) {
	switch lower {
	case "via", "v":
		h, err = s.parseVia(value)
	case "from", "f":
		h, err = s.parseFrom(value)
	case "to", "t":
		h, err = s.parseTo(value)
	case "contact", "m":
		h, err = s.parseContact(value)
	case "call-id", "i":
		h, err = s.parseCallID(value)
	case "cseq":
		h, err = s.parseCSeq(value)
	case "max-forwards":
		v := s.newMaxForwards()
		n, e := strconv.ParseUint(value, 10, 32)
		*v, h, err = sip.MaxForwardsHeader(n), v, e
	case "content-length", "l":
		v := s.newContentLength()
		n, e := strconv.ParseUint(strings.TrimSpace(value), 10, 32)
		*v, h, err = sip.ContentLengthHeader(n), v, e
	default:
		return nil, false, nil
	}
	return h, true, err
}

func (s *slab) parseFrom(value string) (sip.Header, error) {
	h := s.newFrom()
	h.Params = s.freeParams() // parsed in place: a variable of its own would escape
	display, err := parseAddress(value, &h.Address, &h.Params)
	h.DisplayName, h.Params = display, s.keepParams(h.Params)
	if err != nil || h.Address.Wildcard {
		return nil, errDecline // the wildcard is for Contact only
	}
	return h, nil
}

func (s *slab) parseTo(value string) (sip.Header, error) {
	h := s.newTo()
	h.Params = s.freeParams() // parsed in place: a variable of its own would escape
	display, err := parseAddress(value, &h.Address, &h.Params)
	h.DisplayName, h.Params = display, s.keepParams(h.Params)
	if err != nil || h.Address.Wildcard {
		return nil, errDecline
	}
	return h, nil
}

// parseContact declines a comma outside angle brackets and quotes: sipgo splits
// the value there into Contacts of their own. Its scan toggles quotes on every '"',
// an escaped one too, and so does this one.
func (s *slab) parseContact(value string) (sip.Header, error) {
	inBrackets, inQuotes := false, false
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c == '<' && !inQuotes:
			inBrackets = true
		case c == '>' && !inQuotes:
			inBrackets = false
		case c == '"':
			inQuotes = !inQuotes
		case c == ',' && !inQuotes && !inBrackets:
			return nil, errDecline
		}
	}
	h := s.newContact()
	h.Params = s.freeParams() // parsed in place: a variable of its own would escape
	display, err := parseAddress(value, &h.Address, &h.Params)
	h.DisplayName, h.Params = display, s.keepParams(h.Params)
	if err != nil {
		return nil, errDecline
	}
	return h, nil
}

func (s *slab) parseCallID(value string) (sip.Header, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, errDecline
	}
	h := s.newCallID()
	*h = sip.CallIDHeader(value)
	return h, nil
}

func (s *slab) parseCSeq(value string) (sip.Header, error) {
	i := strings.IndexAny(value, " \t")
	if i < 1 || len(value)-i < 2 {
		return nil, errDecline
	}
	seq, err := strconv.ParseUint(value[:i], 10, 32)
	if err != nil || seq > maxCSeq {
		return nil, errDecline
	}
	h := s.newCSeq()
	h.SeqNo, h.MethodName = uint32(seq), sip.RequestMethod(value[i+1:])
	return h, nil
}

// parseVia reads "SIP/2.0/UDP host[:port][;params]" as sipgo's Via states do,
// including what they forgive: a port that is not a number leaves the host unset
// (or, after an IPv6 literal, the port unset) and ends the parse without an error.
// The sent-by and the parameters are read through the whitespace HeadersParsers'
// Via parser reads through (viaText, trimParams).
func (s *slab) parseVia(value string) (sip.Header, error) {
	value = viaText(value)
	h := s.newVia()
	rest, ok := viaProtocol(h, value)
	if !ok {
		return nil, errDecline
	}
	rest, more, ok := viaHost(h, rest)
	if !ok {
		return nil, errDecline
	}
	if !more {
		return h, nil
	}
	if comma := strings.IndexByte(rest, ','); comma > 0 {
		return nil, errDecline // another Via in the same header
	}
	h.Params = s.freeParams()
	_, err := sip.UnmarshalHeaderParams(rest, ';', '\r', &h.Params)
	h.Params = s.keepParams(h.Params)
	if err != nil {
		return nil, errDecline
	}
	trimParams(h.Params)
	return h, nil
}

// viaProtocol reads "SIP/2.0/UDP " into h and returns what follows.
func viaProtocol(h *sip.ViaHeader, s string) (string, bool) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return "", false
	}
	h.ProtocolName, s = strings.TrimSpace(s[:i]), s[i+1:]
	if i = strings.IndexByte(s, '/'); i < 0 {
		return "", false
	}
	h.ProtocolVersion, s = strings.TrimSpace(s[:i]), s[i+1:]
	if i = strings.IndexAny(s, " \t"); i < 0 {
		return "", false
	}
	h.Transport = strings.TrimSpace(s[:i])
	return s[i+1:], true
}

// viaHost reads the sent-by into h and returns the parameters after it; more is
// false when there are none to read, ok false for sipgo's one error (an IPv6
// literal without its closing bracket).
func viaHost(h *sip.ViaHeader, s string) (params string, more, ok bool) {
	if len(s) > 0 && s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", false, false
		}
		h.Host = strings.TrimSpace(s[1:end])
		rest := s[end+1:]
		switch {
		case rest == "":
			return "", false, true
		case rest[0] == ';':
			return rest[1:], true, true
		case rest[0] != ':':
			return "", false, true
		}
		semi := strings.IndexByte(rest, ';')
		port := rest[1:]
		if semi >= 0 {
			port = rest[1:semi]
		}
		n, err := strconv.Atoi(strings.TrimSpace(port))
		if err != nil {
			return "", false, true
		}
		h.Port = n
		if semi < 0 {
			return "", false, true
		}
		return rest[semi+1:], true, true
	}
	colon, end := 0, len(s)
	for i := 0; i < len(s); i++ {
		if s[i] == ';' {
			end = i
			break
		}
		if s[i] == ':' {
			colon = i
		}
	}
	if colon > 0 {
		var err error
		if h.Port, err = strconv.Atoi(s[colon+1 : end]); err != nil {
			return "", false, true
		}
		h.Host = strings.TrimSpace(s[:colon])
	} else {
		h.Host = strings.TrimSpace(s[:end])
	}
	if end == len(s) {
		return "", false, true
	}
	return s[end+1:], true, true
}
