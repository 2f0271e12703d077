package guard

import (
	"errors"
	"time"

	"github.com/voipbin/registrar-operator/registrar/digest"
)

// CheckNonce checks a nonce issued for realm, or for realm and the source's address
// src (returnable then reports it). The second check only runs for a nonce the
// first finds invalid: not on the usual path.
func CheckNonce(nonces *digest.NonceSigner, nonce, realm, src string, now time.Time) (err error, returnable bool) {
	err = nonces.Check(nonce, realm, now)
	if !errors.Is(err, digest.ErrNonceInvalid) {
		return err, false
	}
	if boundErr := nonces.Check(nonce, NonceRealm(realm, src), now); !errors.Is(boundErr, digest.ErrNonceInvalid) {
		return boundErr, true
	}
	return err, false
}

// NonceRealm is what a nonce is signed for: the realm, and the source's address for
// a nonce bound to it ("" for none). A realm, a host name, holds no zero byte.
func NonceRealm(realm, boundTo string) string {
	if boundTo == "" {
		return realm
	}
	return realm + "\x00" + boundTo
}
