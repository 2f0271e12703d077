package sipparse

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// parseAddress reads a From, To or Contact value into uri and params, and returns
// its display name, as sipgo's ParseAddressValue does (v1.7.3, parse_address.go),
// state for state. That one allocates its state on every call, a third of what
// parsing a REGISTER allocated; this one does not. An error is errDecline.
func parseAddress(s string, uri *sip.Uri, params *sip.HeaderParams) (display string, err error) {
	if s == "" {
		return "", errDecline
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			return quotedDisplayName(s[i+1:], uri, params)
		case '<':
			return strings.TrimSpace(s[:i]), bracketedURI(s[i+1:], uri, params)
		case ';':
			// A URI without angle brackets: every parameter is the header's.
			return "", bareURI(s, uri, params)
		}
	}
	return "", bareURI(s, uri, params)
}

// quotedDisplayName reads a quoted display name, where a backslash escapes any
// character but CR and LF (RFC 3261 §25.1), then the URI after it.
func quotedDisplayName(s string, uri *sip.Uri, params *sip.HeaderParams) (string, error) {
	escaped := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			escaped = !escaped
			continue
		case escaped:
			if c == '\n' || c == '\r' {
				return "", errDecline
			}
			escaped = false
			continue
		case c != '"':
			continue
		}
		display, rest := s[:i], s[i+1:]
		for j := 0; j < len(rest); j++ {
			switch rest[j] {
			case '<':
				return display, bracketedURI(rest[j+1:], uri, params)
			case ';':
				return display, bareURI(rest[j+1:], uri, params)
			}
		}
		return "", errDecline // no URI after the display name
	}
	return "", errDecline // the quotes never close
}

// bracketedURI reads "uri>" and the header parameters after it.
func bracketedURI(s string, uri *sip.Uri, params *sip.HeaderParams) error {
	end := strings.IndexByte(s, '>')
	if s == "" || end < 0 {
		return errDecline
	}
	if err := sip.ParseUri(s[:end], uri); err != nil {
		return errDecline
	}
	addressParams(s[end+1:], params)
	return nil
}

// bareURI reads a URI up to the first ';', the header parameters after it.
func bareURI(s string, uri *sip.Uri, params *sip.HeaderParams) error {
	if s == "" {
		return errDecline
	}
	u, headerParams, hasParams := strings.Cut(s, ";")
	if sip.ParseUri(u, uri) != nil {
		return errDecline
	}
	if hasParams {
		addressParams(headerParams, params)
	}
	return nil
}

// addressParams adds the ';'-separated parameters of s: "name=value" split at
// the last '=', anything else a name without a value; empty ones are skipped.
func addressParams(s string, params *sip.HeaderParams) {
	for {
		end := strings.IndexByte(s, ';')
		p := s
		if end >= 0 {
			p = s[:end]
		}
		if equal := strings.LastIndexByte(p, '='); equal > 0 {
			params.Add(p[:equal], p[equal+1:])
		} else if p != "" {
			params.Add(p, "")
		}
		if end < 0 {
			return
		}
		s = s[end+1:]
	}
}
