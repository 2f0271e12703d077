package published

import (
	"crypto/md5" //nolint:gosec // MD5 digest is what SIP devices speak (RFC 2617); SHA-256 is offered beside it.
	"crypto/sha256"
	"encoding/hex"
	"hash"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// HA1 is hex(H(username ":" realm ":" password)), the digest secret the registrar
// checks responses with (RFC 7616 §3.4.2). Publishing HA1 instead of the password
// means the registrar never holds a password, and a leaked value is good for one
// realm only.
func HA1(alg sipv1.DigestAlgorithm, username, realm, password string) string {
	h := NewHash(alg)
	h.Write([]byte(username))
	h.Write([]byte{':'})
	h.Write([]byte(realm))
	h.Write([]byte{':'})
	h.Write([]byte(password))
	return hex.EncodeToString(h.Sum(nil))
}

// NewHash returns the hash function of a digest algorithm; MD5 for anything unknown.
func NewHash(alg sipv1.DigestAlgorithm) hash.Hash {
	if alg == sipv1.DigestSHA256 {
		return sha256.New()
	}
	return md5.New() //nolint:gosec // see the import
}
