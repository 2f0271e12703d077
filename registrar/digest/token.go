package digest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Tokens are short signed statements one replica makes to another, with the
// cluster-wide nonce key every replica holds: "this request for this AOR passed my
// caller policy", when a replica relays a request to the one holding a device's
// flow. A token is base64url(timestamp || mac) with
//
//	timestamp  8 bytes, big-endian Unix milliseconds at issue
//	mac        the first 16 bytes of HMAC-SHA256(K, timestamp || fields),
//	           each field preceded by its length (uvarint)
//	K          HMAC-SHA256(nonce key, "registrar-operator token: " || label)
//
// The label separates kinds of tokens from each other, and K from the key nonces
// are signed with: no nonce is a token, and no token of one label passes for another.
const (
	tokenRawLen = tsLen + macLen
	// TokenLen is the length of every token Token returns.
	TokenLen = (tokenRawLen*8 + 5) / 6
)

var (
	// ErrTokenInvalid says the token was not made by this cluster for these fields.
	ErrTokenInvalid = errors.New("digest: invalid token")
	// ErrTokenExpired says the token is genuine but older than it may be.
	ErrTokenExpired = errors.New("digest: expired token")

	errTokenFormat = fmt.Errorf("%w: wrong length or not base64url", ErrTokenInvalid)
	errTokenMAC    = fmt.Errorf("%w: bad signature or other fields", ErrTokenInvalid)
	errTokenFuture = fmt.Errorf("%w: issued in the future", ErrTokenExpired)
)

// Token returns a token for label over fields, stamped with now, signed with the
// current key.
func (s *NonceSigner) Token(label string, now time.Time, fields ...string) string {
	var raw [tokenRawLen]byte
	binary.BigEndian.PutUint64(raw[:tsLen], uint64(now.UnixMilli()))
	copy(raw[tsLen:], tokenMAC(s.keys.Load().cur.key, label, raw[:tsLen], fields))
	return nonceEncoding.EncodeToString(raw[:])
}

// CheckToken returns nil if token was made by Token for label and fields, with the
// current or the previous key, at most maxAge before now (and at most MaxClockSkew
// after it: another replica's clock may run ahead). Otherwise it returns an error
// wrapping ErrTokenInvalid or ErrTokenExpired. The signature is compared in
// constant time.
func (s *NonceSigner) CheckToken(token, label string, now time.Time, maxAge time.Duration, fields ...string) error {
	if len(token) != TokenLen {
		return errTokenFormat
	}
	raw, err := nonceEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenRawLen {
		return errTokenFormat
	}
	kp := s.keys.Load()
	ok := hmac.Equal(tokenMAC(kp.cur.key, label, raw[:tsLen], fields), raw[tsLen:])
	if !ok && kp.prev != nil {
		ok = hmac.Equal(tokenMAC(kp.prev.key, label, raw[:tsLen], fields), raw[tsLen:])
	}
	if !ok {
		return errTokenMAC
	}
	age := now.UnixMilli() - int64(binary.BigEndian.Uint64(raw[:tsLen]))
	switch {
	case age > maxAge.Milliseconds():
		return fmt.Errorf("%w: %d ms old", ErrTokenExpired, age)
	case age < -MaxClockSkew.Milliseconds():
		return errTokenFuture
	}
	return nil
}

// tokenMAC is the truncated MAC of a token: see Token.
func tokenMAC(key []byte, label string, ts []byte, fields []string) []byte {
	derive := hmac.New(sha256.New, key)
	derive.Write([]byte("registrar-operator token: " + label))
	m := hmac.New(sha256.New, derive.Sum(nil))
	m.Write(ts)
	var n [binary.MaxVarintLen64]byte
	for _, f := range fields {
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		m.Write([]byte(f))
	}
	return m.Sum(nil)[:macLen]
}
