package digest

import (
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

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
