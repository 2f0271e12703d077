package digest

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// URIMatches reports whether the uri parameter of credentials names the request's
// Request-URI (RFC 7616 §3.4.6: the server checks that the answer was computed for
// this request, so that it cannot be moved to another target). The REGISTER handler
// and the proxy apply this one rule.
//
// The rule: what the digest URI names must agree with the Request-URI, what it
// leaves out is not checked.
//
//   - Its scheme is sip or sips, in any case, whichever the Request-URI has.
//   - Its host is the Request-URI's, in any case (RFC 3261 §19.1.4).
//   - A user part, when it has one, is the Request-URI's, byte for byte.
//   - A port, when it has one, is the Request-URI's, or the default port of the
//     Request-URI's scheme when that names none (5060, 5061 for sips).
//   - URI parameters and headers are not compared.
//
// baresip (libre), linphone (belle-sip) and sipsak send the Request-URI itself, so
// they always pass. SIPp sends "sip:" and its -auth_uri value (or the remote
// address), whatever the Request-URI: no user part in an INVITE, no transport
// parameter, and sip: even under sips. That is why the user, the port and the
// parameters may be left out, and the scheme may differ.
func URIMatches(uri string, ruri *sip.Uri) bool {
	u, ok := splitURI(uri)
	if !ok || !strings.EqualFold(u.host, ruri.Host) {
		return false
	}
	if u.hasUser && u.user != ruri.User {
		return false
	}
	if u.port != "" && !portIs(u.port, portOf(ruri)) {
		return false
	}
	return true
}

// portOf is the Request-URI's port, or the default of its scheme (RFC 3261 §19.1.2)
// when it names none.
func portOf(ruri *sip.Uri) int {
	switch {
	case ruri.Port > 0:
		return ruri.Port
	case ruri.IsEncrypted():
		return 5061
	}
	return 5060
}

// uriParts are the pieces of a SIP URI URIMatches compares, views of the string.
type uriParts struct {
	user, host, port string
	hasUser          bool
}

// splitURI reads sip:[user[:password]@]host[:port][;params][?headers] without
// allocating; ok is false for another scheme, an empty host or a port that is not
// a number.
func splitURI(s string) (u uriParts, ok bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 || (!strings.EqualFold(s[:i], "sip") && !strings.EqualFold(s[:i], "sips")) {
		return u, false
	}
	rest := s[i+1:]
	if end := strings.IndexAny(rest, ";?"); end >= 0 {
		rest = rest[:end]
	}
	// No '@' may appear after the userinfo (RFC 3261 §25.1), so the last one ends it.
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user := rest[:at]
		if c := strings.IndexByte(user, ':'); c >= 0 {
			user = user[:c] // a password, deprecated (RFC 3261 §19.1.1), is not compared
		}
		u.user, u.hasUser = user, true
		rest = rest[at+1:]
	}
	u.host = rest
	if strings.HasPrefix(rest, "[") { // an IPv6 reference keeps its brackets, as sipgo's
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return u, false
		}
		u.host, rest = rest[:end+1], rest[end+1:]
		if rest != "" && rest[0] != ':' {
			return u, false
		}
		if rest != "" {
			if u.port = rest[1:]; u.port == "" {
				return u, false
			}
		}
	} else if c := strings.IndexByte(rest, ':'); c >= 0 {
		u.host, u.port = rest[:c], rest[c+1:]
		if u.port == "" {
			return u, false
		}
	}
	if u.host == "" || (u.port != "" && !isPort(u.port)) {
		return u, false
	}
	return u, true
}

// isPort reports whether s is 1 to 5 decimal digits.
func isPort(s string) bool {
	if len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// portIs reports whether the decimal s is port; leading zeros count for nothing.
func portIs(s string, port int) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n == port
}
