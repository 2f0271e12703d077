package digest

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on what ParseCredentials accepts. A legitimate header is a few hundred bytes;
// the bounds stop a peer from making the registrar scan or keep megabytes.
const (
	// MaxCredentialsLen bounds a whole header value.
	MaxCredentialsLen = 4096
	// MaxURILen bounds the uri parameter, the one that legitimately grows long.
	MaxURILen = 1024
	// MaxParamLen bounds every other parameter value.
	MaxParamLen = 256
)

var (
	// ErrMalformedCredentials is wrapped by every ParseCredentials error except ErrNotDigest.
	ErrMalformedCredentials = errors.New("digest: malformed credentials")
	// ErrNotDigest says the header uses another scheme, so it is not ours to judge.
	ErrNotDigest = errors.New("digest: not a Digest scheme")
)

// Credentials is a parsed Authorization / Proxy-Authorization header value.
//
// Its fields are the unquoted parameter values; they share memory with the parsed
// header unless a value held escapes. The response and nonce together allow an
// offline guess at the password, so do not log a Credentials as a whole.
type Credentials struct {
	Username, Realm, Nonce, URI, Response, Algorithm, CNonce, QOP, NC, Opaque string
}

// Parameter indexes, used as bits to catch duplicates.
const (
	pUsername = iota
	pRealm
	pNonce
	pURI
	pResponse
	pAlgorithm
	pCNonce
	pQOP
	pNC
	pOpaque
)

var paramNames = [...]string{"username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "qop", "nc", "opaque"}

// requiredParams are the parameters RFC 7616 §3.4 makes mandatory, in the order a
// missing one is reported.
var requiredParams = [...]int{pUsername, pRealm, pNonce, pURI, pResponse}

// ParseCredentials parses a header value such as
//
//	Digest username="1001", realm="acme.registrar.voipbin.net", nonce="…",
//	uri="sip:acme.registrar.voipbin.net", response="…", algorithm=MD5,
//	cnonce="…", qop=auth, nc=00000001
//
// The scheme and parameter names match case-insensitively, quoted strings may hold
// backslash escapes, whitespace and empty list elements are tolerated and unknown
// parameters ignored. It fails on another scheme (ErrNotDigest), a missing or empty
// username, realm, nonce, uri or response, a repeated known parameter (two values
// would leave it to chance which one is checked), an unterminated quote, an
// oversized value, qop without cnonce and nc, and an nc that is not 8 hex digits.
//
//nolint:gocyclo // one pass over the header, one case per rule listed above.
func ParseCredentials(v string) (Credentials, error) {
	var c Credentials
	if len(v) > MaxCredentialsLen {
		return c, fmt.Errorf("%w: header value of %d bytes exceeds %d", ErrMalformedCredentials, len(v), MaxCredentialsLen)
	}
	i := skipLWS(v, 0)
	start := i
	for i < len(v) && isTokenChar(v[i]) {
		i++
	}
	if !strings.EqualFold(v[start:i], "Digest") {
		return c, fmt.Errorf("%w: scheme %q", ErrNotDigest, truncate(v[start:i]))
	}
	if i < len(v) && !isLWS(v[i]) {
		return c, fmt.Errorf("%w: no space after the scheme", ErrMalformedCredentials)
	}

	var seen uint16
	for {
		i = skipLWS(v, i)
		for i < len(v) && v[i] == ',' { // empty list elements are allowed (RFC 3261 §7.3.1)
			i = skipLWS(v, i+1)
		}
		if i == len(v) {
			break
		}
		start = i
		for i < len(v) && isTokenChar(v[i]) {
			i++
		}
		if i == start {
			return c, fmt.Errorf("%w: unexpected %q at offset %d", ErrMalformedCredentials, v[i], i)
		}
		name := v[start:i]
		i = skipLWS(v, i)
		if i == len(v) || v[i] != '=' {
			return c, fmt.Errorf("%w: parameter %q has no value", ErrMalformedCredentials, truncate(name))
		}
		i = skipLWS(v, i+1)

		var val string
		var err error
		if i < len(v) && v[i] == '"' {
			val, i, err = readQuoted(v, i)
		} else {
			val, i, err = readToken(v, i)
		}
		if err != nil {
			return c, fmt.Errorf("%w: parameter %q: %w", ErrMalformedCredentials, truncate(name), err)
		}

		if p := paramIndex(name); p >= 0 {
			if seen&(1<<p) != 0 {
				return c, fmt.Errorf("%w: parameter %q repeated", ErrMalformedCredentials, paramNames[p])
			}
			seen |= 1 << p
			limit := MaxParamLen
			if p == pURI {
				limit = MaxURILen
			}
			if len(val) > limit {
				return c, fmt.Errorf("%w: parameter %q is %d bytes, over %d", ErrMalformedCredentials, paramNames[p], len(val), limit)
			}
			*c.field(p) = val
		}

		i = skipLWS(v, i)
		if i < len(v) {
			if v[i] != ',' {
				return c, fmt.Errorf("%w: expected ',' after parameter %q at offset %d", ErrMalformedCredentials, truncate(name), i)
			}
			i++
		}
	}

	for _, p := range requiredParams {
		if *c.field(p) == "" {
			return c, fmt.Errorf("%w: parameter %q missing or empty", ErrMalformedCredentials, paramNames[p])
		}
	}
	if c.QOP != "" && (c.CNonce == "" || c.NC == "") {
		return c, fmt.Errorf("%w: qop without cnonce and nc", ErrMalformedCredentials)
	}
	if c.NC != "" {
		if _, ok := parseNC(c.NC); !ok {
			return c, fmt.Errorf("%w: nc %q is not 8 hex digits", ErrMalformedCredentials, truncate(c.NC))
		}
	}
	return c, nil
}

// NonceCount returns the nonce count as a number, 0 when qop is absent (RFC 2069
// style credentials carry no count).
func (c Credentials) NonceCount() uint32 {
	if c.QOP == "" {
		return 0
	}
	n, _ := parseNC(c.NC)
	return n
}

func (c *Credentials) field(p int) *string {
	switch p {
	case pUsername:
		return &c.Username
	case pRealm:
		return &c.Realm
	case pNonce:
		return &c.Nonce
	case pURI:
		return &c.URI
	case pResponse:
		return &c.Response
	case pAlgorithm:
		return &c.Algorithm
	case pCNonce:
		return &c.CNonce
	case pQOP:
		return &c.QOP
	case pNC:
		return &c.NC
	default:
		return &c.Opaque
	}
}

// paramIndex maps a parameter name, in any case, to its index; -1 when unknown.
// Switching on the length first keeps it to one EqualFold per name.
func paramIndex(name string) int {
	var p int
	switch len(name) {
	case 2:
		p = pNC
	case 3:
		if name[0]|0x20 == 'u' {
			p = pURI
		} else {
			p = pQOP
		}
	case 5:
		if name[0]|0x20 == 'r' {
			p = pRealm
		} else {
			p = pNonce
		}
	case 6:
		if name[0]|0x20 == 'c' {
			p = pCNonce
		} else {
			p = pOpaque
		}
	case 8:
		if name[0]|0x20 == 'u' {
			p = pUsername
		} else {
			p = pResponse
		}
	case 9:
		p = pAlgorithm
	default:
		return -1
	}
	if !strings.EqualFold(name, paramNames[p]) {
		return -1
	}
	return p
}

// parseNC reads an nc value: exactly 8 hex digits (RFC 7616 §3.4).
func parseNC(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var n uint32
	for i := 0; i < len(s); i++ {
		d, ok := unhex(s[i])
		if !ok {
			return 0, false
		}
		n = n<<4 | uint32(d)
	}
	return n, true
}

// truncate keeps hostile input from bloating error messages and logs.
func truncate(s string) string {
	const max = 32
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
