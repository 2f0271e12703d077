package digest

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// URIMatches reports whether the uri parameter of credentials names the Request-URI's
// host (RFC 7616 §3.4.6: the server checks the answer was computed for this request).
// Only the scheme (sip or sips) and the host are compared: ports, parameters and
// letter case may differ where a NAT or the device rewrote them. The REGISTER handler
// and the proxy apply this one rule.
func URIMatches(uri string, ruri *sip.Uri) bool {
	i := strings.IndexByte(uri, ':')
	if i < 0 || (!strings.EqualFold(uri[:i], "sip") && !strings.EqualFold(uri[:i], "sips")) {
		return false
	}
	rest := uri[i+1:]
	// No '@' may appear after the userinfo (RFC 3261 §25.1), so the first one ends it.
	if at := strings.IndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if end := strings.IndexAny(rest, ";?"); end >= 0 {
		rest = rest[:end]
	}
	host := rest
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end >= 0 {
			host = host[:end+1]
		}
	} else if c := strings.IndexByte(host, ':'); c >= 0 {
		host = host[:c]
	}
	return host != "" && strings.EqualFold(host, ruri.Host)
}
