package digest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"
)

const realm = "acme.registrar.voipbin.net"

var (
	keyA = []byte("0123456789abcdef0123456789abcdef")
	keyB = []byte("fedcba9876543210fedcba9876543210")
	t0   = time.Unix(1_750_000_000, 123_000_000)
)

func TestNonceAcrossReplicas(t *testing.T) {
	a := NewNonceSigner(keyA, 0)
	b := NewNonceSigner(keyA, 0)
	other := NewNonceSigner(keyB, 0)
	if a.Lifetime() != DefaultNonceLifetime {
		t.Fatalf("Lifetime() = %v, want the default", a.Lifetime())
	}
	n := a.Issue(realm, t0)
	if len(n) != NonceLen || NonceLen != base64.RawURLEncoding.EncodedLen(nonceRawLen) {
		t.Fatalf("nonce %q has length %d, NonceLen %d", n, len(n), NonceLen)
	}

	tests := []struct {
		name   string
		signer *NonceSigner
		nonce  string
		realm  string
		now    time.Time
		want   error // nil, ErrNonceStale or ErrNonceInvalid
	}{
		{"same replica", a, n, realm, t0, nil},
		{"other replica, same key", b, n, realm, t0.Add(time.Second), nil},
		{"at the end of its life", b, n, realm, t0.Add(DefaultNonceLifetime), nil},
		{"just past its life", b, n, realm, t0.Add(DefaultNonceLifetime + time.Millisecond), ErrNonceStale},
		{"long expired", a, n, realm, t0.Add(24 * time.Hour), ErrNonceStale},
		{"issuer's clock slightly ahead", b, n, realm, t0.Add(-MaxClockSkew), nil},
		{"issued in the future", b, n, realm, t0.Add(-MaxClockSkew - time.Millisecond), ErrNonceStale},
		{"wrong key", other, n, realm, t0, ErrNonceInvalid},
		{"wrong realm", a, n, "other.registrar.voipbin.net", t0, ErrNonceInvalid},
		{"realm differs in case", a, n, "ACME.registrar.voipbin.net", t0, ErrNonceInvalid},
		{"empty", a, "", realm, t0, ErrNonceInvalid},
		{"truncated", a, n[:NonceLen-1], realm, t0, ErrNonceInvalid},
		{"extended", a, n + "A", realm, t0, ErrNonceInvalid},
		{"padded", a, n[:NonceLen-1] + "=", realm, t0, ErrNonceInvalid},
		{"not base64url", a, "+" + n[1:], realm, t0, ErrNonceInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.signer.Check(tt.nonce, tt.realm, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNonceTamperedByteIsInvalid(t *testing.T) {
	s := NewNonceSigner(keyA, time.Minute)
	n := s.Issue(realm, t0)
	for i := 0; i < len(n); i++ {
		for _, sub := range []byte{'A', 'f', '-', '_', '0'} {
			if sub == n[i] {
				continue
			}
			b := []byte(n)
			b[i] = sub
			if err := s.Check(string(b), realm, t0); !errors.Is(err, ErrNonceInvalid) {
				t.Fatalf("byte %d changed to %q: Check = %v, want ErrNonceInvalid", i, sub, err)
			}
		}
	}
	// The timestamp is signed: moving it, even to make the nonce younger, breaks the MAC.
	raw, _ := base64.RawURLEncoding.DecodeString(n)
	binary.BigEndian.PutUint64(raw[:8], binary.BigEndian.Uint64(raw[:8])+1000)
	if err := s.Check(base64.RawURLEncoding.EncodeToString(raw), realm, t0); !errors.Is(err, ErrNonceInvalid) {
		t.Errorf("re-dated nonce: Check = %v, want ErrNonceInvalid", err)
	}
}

func TestNonceFormat(t *testing.T) {
	s := NewNonceSigner(keyA, 0)
	n := s.Issue(realm, t0)
	raw, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	if ms := int64(binary.BigEndian.Uint64(raw[:8])); ms != t0.UnixMilli() {
		t.Errorf("timestamp %d, want %d", ms, t0.UnixMilli())
	}
	m := hmac.New(sha256.New, keyA)
	m.Write(raw[:16])
	m.Write([]byte(realm))
	if !hmac.Equal(m.Sum(nil)[:16], raw[16:]) {
		t.Error("MAC is not HMAC-SHA256(key, timestamp || random || realm)[:16]")
	}
	if n2 := s.Issue(realm, t0); n2 == n {
		t.Error("two nonces issued at the same instant are equal")
	}
}

func TestNonceKeyRotation(t *testing.T) {
	replica1 := NewNonceSigner(keyA, 0)
	replica2 := NewNonceSigner(keyA, 0)
	old := replica1.Issue(realm, t0)

	replica1.SetKey(keyB)
	replica2.SetKey(keyB)
	replica2.SetKey(keyB) // a resync of the unchanged Secret must not drop keyA
	fresh := replica1.Issue(realm, t0.Add(time.Second))

	for _, s := range []*NonceSigner{replica1, replica2} {
		if err := s.Check(old, realm, t0.Add(time.Minute)); err != nil {
			t.Errorf("nonce of the previous key refused: %v", err)
		}
		if err := s.Check(old, realm, t0.Add(DefaultNonceLifetime+time.Second)); !errors.Is(err, ErrNonceStale) {
			t.Errorf("expired nonce of the previous key: %v, want stale", err)
		}
		if err := s.Check(fresh, realm, t0.Add(time.Minute)); err != nil {
			t.Errorf("nonce of the new key refused: %v", err)
		}
	}
	if err := NewNonceSigner(keyA, 0).Check(fresh, realm, t0.Add(time.Minute)); !errors.Is(err, ErrNonceInvalid) {
		t.Errorf("a replica still on the old key accepted the new key's nonce: %v", err)
	}

	// A second rotation forgets the first key.
	replica1.SetKey([]byte("a third key, long enough to use!"))
	if err := replica1.Check(old, realm, t0.Add(time.Minute)); !errors.Is(err, ErrNonceInvalid) {
		t.Errorf("nonce of a key two rotations back: %v, want invalid", err)
	}
	if err := replica1.Check(fresh, realm, t0.Add(time.Minute)); err != nil {
		t.Errorf("nonce of the previous key refused after the second rotation: %v", err)
	}
}

func TestNonceKeyIsCopied(t *testing.T) {
	key := append([]byte(nil), keyA...)
	s := NewNonceSigner(key, 0)
	n := s.Issue(realm, t0)
	key[0] ^= 0xff
	if err := s.Check(n, realm, t0); err != nil {
		t.Errorf("changing the caller's slice changed the key: %v", err)
	}
}

func TestNonceShortKeyPanics(t *testing.T) {
	if err := CheckKey(make([]byte, MinKeyLen-1)); err == nil {
		t.Error("CheckKey accepted a short key")
	}
	if err := CheckKey(make([]byte, MinKeyLen)); err != nil {
		t.Errorf("CheckKey: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewNonceSigner accepted an empty key")
		}
	}()
	NewNonceSigner(nil, 0)
}

func TestNonceConcurrentRotation(t *testing.T) {
	s := NewNonceSigner(keyA, 0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				s.SetKey(keyB)
			} else {
				s.SetKey(keyA)
			}
		}
	}()
	for i := 0; i < 2000; i++ {
		// Alternating between two keys, the issuing key is always current or previous.
		if err := s.Check(s.Issue(realm, t0), realm, t0); err != nil {
			t.Errorf("Check during rotation: %v", err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

func TestNonceDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	s := NewNonceSigner(keyA, 0)
	n := s.Issue(realm, t0)
	if allocs := testing.AllocsPerRun(100, func() { _ = s.Check(n, realm, t0) }); allocs != 0 {
		t.Errorf("Check allocates %v times, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = s.Check("junk", realm, t0) }); allocs != 0 {
		t.Errorf("Check of junk allocates %v times, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = s.Issue(realm, t0) }); allocs != 1 {
		t.Errorf("Issue allocates %v times, want 1 (the string)", allocs)
	}
}

// A replica bound with NewReplicaNonceSigner accepts only its own nonces: another
// replica's (same key, so a good signature) is stale, which makes an honest device
// retry at once and gives a replayed request nothing; a forged one stays invalid.
func TestNonceBoundToReplica(t *testing.T) {
	a := NewReplicaNonceSigner(keyA, 0)
	b := NewReplicaNonceSigner(keyA, 0)
	shared := NewNonceSigner(keyA, 0)
	fromA := a.Issue(realm, t0)
	fromShared := shared.Issue(realm, t0)
	tests := []struct {
		name   string
		signer *NonceSigner
		nonce  string
		realm  string
		want   error
	}{
		{"issuing replica", a, fromA, realm, nil},
		{"other replica", b, fromA, realm, ErrNonceStale},
		{"unbound signer's nonce at a bound replica", a, fromShared, realm, ErrNonceStale},
		{"bound nonce at an unbound signer", shared, fromA, realm, nil},
		{"other replica, other realm", b, fromA, "other.registrar.voipbin.net", ErrNonceInvalid},
		{"other key", NewReplicaNonceSigner(keyB, 0), fromA, realm, ErrNonceInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.signer.Check(tt.nonce, tt.realm, t0.Add(time.Second))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
	// Changing the tag bytes of a nonce breaks its MAC: a replay cannot be re-aimed.
	raw, _ := base64.RawURLEncoding.DecodeString(fromA)
	copy(raw[tsLen:tsLen+tagLen], b.tag[:])
	if err := b.Check(base64.RawURLEncoding.EncodeToString(raw), realm, t0); !errors.Is(err, ErrNonceInvalid) {
		t.Errorf("nonce re-tagged for replica b: Check = %v, want ErrNonceInvalid", err)
	}
	// Tags are random per signer: a restarted replica is another replica.
	if a.tag == b.tag {
		t.Error("two replicas drew the same tag")
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = b.Check(fromA, realm, t0) }); !raceEnabled && allocs != 0 {
		t.Errorf("Check of another replica's nonce allocates %v times, want 0", allocs)
	}
}
