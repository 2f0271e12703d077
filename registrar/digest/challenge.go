package digest

import (
	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Style is how a challenge is sent: the response's status and the header that
// carries it. A device answers a WWW-Authenticate in Authorization and a
// Proxy-Authenticate in Proxy-Authorization; CredentialsFor reads either.
type Style struct {
	Code   int
	Reason string
	Header string
}

var (
	// Unauthorized is the 401 a registrar may answer with (Asterisk and Kamailio do).
	Unauthorized = Style{Code: sip.StatusUnauthorized, Reason: "Unauthorized", Header: "WWW-Authenticate"}
	// ProxyAuthRequired is the 407 a proxy always answers with (RFC 3261 §22.3), and
	// the REGISTER style of the reference service.
	ProxyAuthRequired = Style{Code: sip.StatusProxyAuthRequired, Reason: "Proxy Authentication Required", Header: "Proxy-Authenticate"}
)

// StyleOf is the style a Domain asks REGISTER challenges to take: 407 unless it
// names WWWAuthenticate, as the CRD's default is.
func StyleOf(c sipv1.ChallengeStyle) Style {
	if c == sipv1.ChallengeWWWAuthenticate {
		return Unauthorized
	}
	return ProxyAuthRequired
}

// AddChallenges appends to res, a response of style s, one challenge header per
// algorithm ChallengeAlgorithms picks for the device (domain is the Domain's list,
// own the Extension's, nil when it has none), the preferred first, all with the
// same nonce.
func AddChallenges(res *sip.Response, s Style, realm, nonce string, domain, own []sipv1.DigestAlgorithm, stale bool) {
	for _, alg := range ChallengeAlgorithms(domain, own) {
		ch := Challenge{Realm: realm, Nonce: nonce, Algorithm: alg, Stale: stale}
		res.AppendHeader(sip.NewHeader(s.Header, ch.String()))
	}
}

// Challenge is one WWW-Authenticate / Proxy-Authenticate value. RFC 8760 has a
// registrar offering several algorithms send one challenge per algorithm, the
// preferred first, all with the same nonce.
//
// It always offers qop="auth": the nonce count it brings is what lets NonceCounts
// refuse replays. No opaque is sent; the signed nonce already carries the state.
type Challenge struct {
	Realm     string
	Nonce     string
	Algorithm sipv1.DigestAlgorithm // MD5 when empty
	Stale     bool                  // the nonce was good but old: retry without asking the user
}

// String renders the challenge:
//
//	Digest realm="…", nonce="…", algorithm=MD5, qop="auth"[, stale=true]
func (c Challenge) String() string {
	var buf [256]byte // fits the usual challenge, so only the string is allocated
	return string(c.AppendTo(buf[:0]))
}

// AppendTo appends the rendered challenge to b, for callers building a header
// without an intermediate string.
func (c Challenge) AppendTo(b []byte) []byte {
	alg := c.Algorithm
	if alg == "" {
		alg = sipv1.DigestMD5
	}
	b = append(b, `Digest realm=`...)
	b = appendQuoted(b, c.Realm)
	b = append(b, `, nonce=`...)
	b = appendQuoted(b, c.Nonce)
	b = append(b, `, algorithm=`...)
	b = append(b, alg...) // an enum of tokens, validated by the CRD schema
	b = append(b, `, qop="auth"`...)
	if c.Stale {
		b = append(b, `, stale=true`...)
	}
	return b
}
