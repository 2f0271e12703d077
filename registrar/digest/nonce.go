package digest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultNonceLifetime is how long a nonce is accepted, as in Kamailio (Asterisk
	// uses 32 s). Long enough to span a device's retry of its REGISTER, short enough
	// to bound a replay across replicas (see the package doc).
	DefaultNonceLifetime = 300 * time.Second
	// MaxClockSkew is how far in the future a nonce's timestamp may lie: another
	// replica whose clock runs ahead may have issued it.
	MaxClockSkew = 5 * time.Second
	// MinKeyLen is the shortest nonce key accepted; 32 random bytes are recommended.
	MinKeyLen = 16
)

// A nonce is base64url(timestamp || replica || random || mac) with
//
//	timestamp  8 bytes, big-endian Unix milliseconds at issue
//	replica    4 bytes, the issuing replica's tag (random for an unbound signer)
//	random     4 bytes, so two nonces issued in the same millisecond differ
//	mac        the first 16 bytes of HMAC-SHA256(key, timestamp || replica || random || realm)
//
// Signing the realm means a nonce issued for one domain is no good in another;
// signing the replica tag means a replica bound with NewReplicaNonceSigner can tell
// a nonce another replica issued (good signature, other tag) from a forged one.
const (
	tsLen       = 8
	tagLen      = 4
	randLen     = 8 // tag and random together, as an unbound signer fills them
	macLen      = 16
	signedLen   = tsLen + randLen
	nonceRawLen = signedLen + macLen

	// NonceLen is the length of every nonce Issue returns: unpadded base64 of nonceRawLen bytes.
	NonceLen = (nonceRawLen*8 + 5) / 6
)

// nonceEncoding is strict so that a nonce has exactly one spelling: the unused low
// bits of the last character must be zero, or a flipped bit there would pass.
var nonceEncoding = base64.RawURLEncoding.Strict()

var (
	// ErrNonceInvalid says the nonce was not issued by this cluster for this realm.
	ErrNonceInvalid = errors.New("digest: invalid nonce")
	// ErrNonceStale says the nonce was issued by this cluster but has expired; the
	// client should be challenged again with stale=true.
	ErrNonceStale = errors.New("digest: stale nonce")

	// Pre-wrapped so that Check allocates nothing, even under a flood of junk.
	errNonceLength    = fmt.Errorf("%w: wrong length", ErrNonceInvalid)
	errNonceEncoding  = fmt.Errorf("%w: not base64url", ErrNonceInvalid)
	errNonceSignature = fmt.Errorf("%w: bad signature or other realm", ErrNonceInvalid)
	errNonceExpired   = fmt.Errorf("%w: older than its lifetime", ErrNonceStale)
	errNonceFuture    = fmt.Errorf("%w: issued in the future", ErrNonceStale)
	// Stale, not invalid: the cluster issued it, so a device that answered it with
	// the right password retries at once (stale=true) instead of asking its user.
	errNonceOtherReplica = fmt.Errorf("%w: issued by another replica or before a restart", ErrNonceStale)
)

// NonceSigner issues and checks stateless nonces. Every replica holding the same key
// accepts the others' nonces, so a device's REGISTER may land on any of them.
// It is safe for concurrent use.
type NonceSigner struct {
	lifetime time.Duration
	mu       sync.Mutex // serialises SetKey; readers only load keys
	keys     atomic.Pointer[keyPair]
	// bound signers issue nonces carrying tag and accept no other tag.
	bound bool
	tag   [tagLen]byte
}

// keyPair is replaced as a whole on rotation, so a reader sees a consistent pair.
type keyPair struct {
	cur, prev *macKey
}

// CheckKey reports whether key is usable by NewNonceSigner and SetKey.
func CheckKey(key []byte) error {
	if len(key) < MinKeyLen {
		return fmt.Errorf("digest: nonce key of %d bytes is shorter than %d", len(key), MinKeyLen)
	}
	return nil
}

// NewNonceSigner returns a signer using key (copied) whose nonces live for lifetime,
// DefaultNonceLifetime when lifetime is not positive. It panics if CheckKey rejects
// key: a weak key is a deployment error to catch before serving, and replicas falling
// back to their own keys would reject each other's nonces.
func NewNonceSigner(key []byte, lifetime time.Duration) *NonceSigner {
	if lifetime <= 0 {
		lifetime = DefaultNonceLifetime
	}
	s := &NonceSigner{lifetime: lifetime}
	s.SetKey(key)
	return s
}

// NewReplicaNonceSigner is NewNonceSigner bound to this replica: it stamps its nonces
// with a random tag of its own and answers a nonce with another tag (issued by
// another replica, or by this one before it restarted) with ErrNonceStale. Nonce
// counts (NonceCounts) live in one replica's memory; binding nonces to it closes the
// replay of a captured request at another replica or after a restart, at the cost
// of one more challenge (stale=true, no user prompt) when a device moves between
// replicas within a nonce's lifetime.
func NewReplicaNonceSigner(key []byte, lifetime time.Duration) *NonceSigner {
	s := NewNonceSigner(key, lifetime)
	s.bound = true
	// Never fails: since Go 1.24 crypto/rand crashes the program instead.
	_, _ = rand.Read(s.tag[:])
	return s
}

// Lifetime is how long the signer's nonces are accepted.
func (s *NonceSigner) Lifetime() time.Duration { return s.lifetime }

// SetKey makes key (copied) the signing key, as when the watched key Secret changes.
// Nonces signed with the key it replaces stay good until they expire; older keys are
// forgotten. Setting the current key again is a no-op, so resyncs of an unchanged
// Secret do not push the previous key out. It panics if CheckKey rejects key; call
// CheckKey on keys read at run time. Safe for concurrent use with Issue and Check.
func (s *NonceSigner) SetKey(key []byte) {
	if err := CheckKey(key); err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.keys.Load()
	if old != nil && hmac.Equal(old.cur.key, key) {
		return
	}
	kp := &keyPair{cur: newMacKey(key)}
	if old != nil {
		kp.prev = old.cur
	}
	s.keys.Store(kp)
}

// Issue returns a new nonce for realm, stamped with now.
func (s *NonceSigner) Issue(realm string, now time.Time) string {
	var rnd [randLen]byte
	// Never fails: since Go 1.24 crypto/rand crashes the program rather than
	// returning an error.
	_, _ = rand.Read(rnd[:])
	return s.issue(realm, now, &rnd)
}

// issue is Issue with the random part given, for deterministic tests.
func (s *NonceSigner) issue(realm string, now time.Time, rnd *[randLen]byte) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:tsLen], uint64(now.UnixMilli()))
	copy(raw[tsLen:signedLen], rnd[:])
	if s.bound {
		copy(raw[tsLen:tsLen+tagLen], s.tag[:])
	}
	s.keys.Load().cur.sign((*[macLen]byte)(raw[signedLen:]), (*[signedLen]byte)(raw[:signedLen]), realm)
	var enc [NonceLen]byte
	nonceEncoding.Encode(enc[:], raw[:])
	return string(enc[:])
}

// Check returns nil if nonce was issued for realm by a signer with the current or the
// previous key and is still live at now. Otherwise it returns an error wrapping
// ErrNonceStale (signature good but older than the lifetime, issued further in the
// future than MaxClockSkew, or, for a bound signer, issued by another replica) or
// ErrNonceInvalid (bad encoding, bad signature, other realm). Pass the realm of the domain the request is for, not one the client chose.
func (s *NonceSigner) Check(nonce, realm string, now time.Time) error {
	if len(nonce) != NonceLen {
		return errNonceLength
	}
	var enc [NonceLen]byte
	copy(enc[:], nonce) // Decode wants bytes; converting the string would allocate
	var raw [nonceRawLen]byte
	if n, err := nonceEncoding.Decode(raw[:], enc[:]); err != nil || n != nonceRawLen {
		return errNonceEncoding
	}
	signed := (*[signedLen]byte)(raw[:signedLen])
	var mac [macLen]byte
	kp := s.keys.Load()
	kp.cur.sign(&mac, signed, realm)
	if !hmac.Equal(mac[:], raw[signedLen:]) {
		if kp.prev == nil {
			return errNonceSignature
		}
		kp.prev.sign(&mac, signed, realm)
		if !hmac.Equal(mac[:], raw[signedLen:]) {
			return errNonceSignature
		}
	}
	if s.bound && [tagLen]byte(raw[tsLen:tsLen+tagLen]) != s.tag {
		return errNonceOtherReplica
	}
	issued := int64(binary.BigEndian.Uint64(raw[:tsLen]))
	age := now.UnixMilli() - issued
	switch {
	case age > s.lifetime.Milliseconds():
		return errNonceExpired
	case age < -MaxClockSkew.Milliseconds():
		return errNonceFuture
	}
	return nil
}

// macKey is one HMAC key with a pool of ready hashers: hmac.New allocates and
// recomputes the padded key, which would cost more than the MAC itself.
type macKey struct {
	key  []byte
	pool sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	msg []byte // scratch: hash.Hash.Write needs a []byte, and the realm is a string
	sum [sha256.Size]byte
}

func newMacKey(key []byte) *macKey {
	k := &macKey{key: append([]byte(nil), key...)}
	k.pool.New = func() any {
		return &macState{h: hmac.New(sha256.New, k.key), msg: make([]byte, 0, signedLen+64)}
	}
	return k
}

// sign writes the truncated HMAC of signed || realm into dst.
func (k *macKey) sign(dst *[macLen]byte, signed *[signedLen]byte, realm string) {
	m := k.pool.Get().(*macState)
	m.h.Reset()
	m.msg = append(append(m.msg[:0], signed[:]...), realm...)
	m.h.Write(m.msg)
	copy(dst[:], m.h.Sum(m.sum[:0]))
	if cap(m.msg) <= 4096 { // do not let one huge realm pin a big buffer in the pool
		k.pool.Put(m)
	}
}
