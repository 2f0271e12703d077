package digest

import (
	"crypto/md5" //nolint:gosec // MD5 digest is what SIP devices speak (RFC 2617); SHA-256 is offered beside it.
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// AlgorithmOf returns the normalised algorithm of the credentials: MD5 when none is
// named (RFC 2617), MD5 or SHA-256 (RFC 8760) in any case. It returns false for
// anything else, the "-sess" variants included: their HA1 depends on the client's
// cnonce, so a published HA1 cannot serve them.
func AlgorithmOf(c Credentials) (sipv1.DigestAlgorithm, bool) {
	switch {
	case c.Algorithm == "", strings.EqualFold(c.Algorithm, string(sipv1.DigestMD5)):
		return sipv1.DigestMD5, true
	case strings.EqualFold(c.Algorithm, string(sipv1.DigestSHA256)):
		return sipv1.DigestSHA256, true
	}
	return "", false
}

// Verify reports whether c.Response is right for the request method and the published
// HA1 (hex of H(username:realm:password) with c's algorithm).
//
//	qop=auth:  H(HA1:nonce:nc:cnonce:qop:HA2)
//	no qop:    H(HA1:nonce:HA2)             (RFC 2069, still sent by old devices)
//	HA2 =      H(method:uri)
//
// The comparison is constant-time. The response may be in upper-case hex.
//
// Verify checks only the arithmetic. The caller looks HA1 up by c.Realm and
// c.Username, checks that c.Realm is the domain's, that c.URI is the Request-URI
// (RFC 7616 §3.4.6), and checks the nonce with NonceSigner and NonceCounts.
func Verify(c Credentials, method, ha1 string) bool {
	alg, ok := AlgorithmOf(c)
	if !ok {
		return false
	}
	size := 2 * md5.Size
	if alg == sipv1.DigestSHA256 {
		size = 2 * sha256.Size
	}
	if len(ha1) != size || len(c.Response) != size {
		return false
	}
	if c.QOP != "" {
		// auth-int would need the body's hash; it is never offered.
		if !strings.EqualFold(c.QOP, "auth") || c.CNonce == "" {
			return false
		}
		if _, ok := parseNC(c.NC); !ok {
			return false
		}
	}

	var want, got [2 * sha256.Size]byte
	w, ok := expected(alg, c, method, ha1, &want)
	if !ok {
		return false
	}
	g, ok := appendLowerHex(got[:0], c.Response)
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare(w, g) == 1
}

// Response computes the response a device sends for c (its Response ignored) to a
// challenge, for the request method and HA1: what Verify checks. The tests' phones
// answer with it. It fails for an algorithm Verify refuses or an HA1 not in hex.
func Response(c Credentials, method, ha1 string) (string, error) {
	alg, ok := AlgorithmOf(c)
	if !ok {
		return "", fmt.Errorf("while answering a challenge: algorithm %q not supported", c.Algorithm)
	}
	var want [2 * sha256.Size]byte
	w, ok := expected(alg, c, method, ha1, &want)
	if !ok {
		return "", errors.New("while answering a challenge: HA1 is not hex")
	}
	return string(w), nil
}

// expected writes into dst the lower-case hex response that c must carry for the
// method and HA1, by c's qop (see Verify), and returns it; false if HA1 is not hex.
func expected(alg sipv1.DigestAlgorithm, c Credentials, method, ha1 string, dst *[2 * sha256.Size]byte) ([]byte, bool) {
	// One stack buffer serves both hash inputs; only a URI or nonce near the parse
	// limits makes append move it to the heap.
	var buf [512]byte
	var ha2 [2 * sha256.Size]byte

	b := append(buf[:0], method...)
	b = append(b, ':')
	b = append(b, c.URI...)
	h2 := hexSum(alg, b, &ha2)

	b, ok := appendLowerHex(buf[:0], ha1) // devices hash lower-case HA1
	if !ok {
		return nil, false
	}
	b = append(b, ':')
	b = append(b, c.Nonce...)
	b = append(b, ':')
	if c.QOP != "" {
		b = append(b, c.NC...) // as sent: that is what the device hashed
		b = append(b, ':')
		b = append(b, c.CNonce...)
		b = append(b, ':')
		b = append(b, c.QOP...)
		b = append(b, ':')
	}
	b = append(b, h2...)
	return hexSum(alg, b, dst), true
}

// hexSum writes the lower-case hex digest of data into dst and returns it.
func hexSum(alg sipv1.DigestAlgorithm, data []byte, dst *[2 * sha256.Size]byte) []byte {
	if alg == sipv1.DigestSHA256 {
		sum := sha256.Sum256(data)
		hex.Encode(dst[:], sum[:])
		return dst[:]
	}
	sum := md5.Sum(data) //nolint:gosec // see the import
	hex.Encode(dst[:], sum[:])
	return dst[:2*md5.Size]
}

// appendLowerHex appends s lower-cased, or reports false if s is not hex.
func appendLowerHex(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if _, ok := unhex(ch); !ok {
			return b, false
		}
		if 'A' <= ch && ch <= 'F' {
			ch += 'a' - 'A'
		}
		b = append(b, ch)
	}
	return b, true
}
