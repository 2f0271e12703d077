package digest

import (
	"strconv"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

func BenchmarkParseCredentials(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCredentials(sipHeader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		c    Credentials
		ha1  string
	}{
		{"MD5", sipCreds, published.HA1(sipv1.DigestMD5, "1001", "acme.registrar.voipbin.net", sipPassword)},
		{"SHA-256", rfc7616, published.HA1(sipv1.DigestSHA256, "Mufasa", "http-auth@example.org", "Circle of Life")},
	} {
		method := "REGISTER"
		if bc.c.URI[0] == '/' {
			method = "GET"
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !Verify(bc.c, method, bc.ha1) {
					b.Fatal("refused")
				}
			}
		})
	}
}

func BenchmarkNonceIssue(b *testing.B) {
	s := NewNonceSigner(keyA, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = s.Issue(realm, t0)
		}
	})
}

func BenchmarkNonceCheck(b *testing.B) {
	s := NewNonceSigner(keyA, 0)
	n := s.Issue(realm, t0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Check(n, realm, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNonceCheckPreviousKey is the worst case: a nonce of the previous key
// costs two MACs.
func BenchmarkNonceCheckPreviousKey(b *testing.B) {
	s := NewNonceSigner(keyA, 0)
	n := s.Issue(realm, t0)
	s.SetKey(keyB)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Check(n, realm, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNonceCountsUse(b *testing.B) {
	n := NewNonceCounts(0, 0)
	nonces := make([]string, 4096)
	for i := range nonces {
		nonces[i] = "nonce-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		now := t0
		for pb.Next() {
			i++
			n.Use(nonces[i&4095], uint32(i), now)
			if i&1023 == 0 {
				now = now.Add(time.Millisecond)
			}
		}
	})
}

func BenchmarkChallengeString(b *testing.B) {
	c := Challenge{Realm: realm, Nonce: NewNonceSigner(keyA, 0).Issue(realm, t0), Algorithm: sipv1.DigestSHA256}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.String()
	}
}

func BenchmarkChallengeAppendTo(b *testing.B) {
	c := Challenge{Realm: realm, Nonce: NewNonceSigner(keyA, 0).Issue(realm, t0)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendTo(buf[:0])
	}
}

// BenchmarkNonceCountsUseNew inserts a fresh nonce each time into a full table, so
// every call also evicts.
func BenchmarkNonceCountsUseNew(b *testing.B) {
	n := NewNonceCounts(4096, 0)
	nonces := make([]string, 1<<16)
	for i := range nonces {
		nonces[i] = "nonce-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		n.Use(nonces[i&(1<<16-1)], 1, t0.Add(time.Duration(i)))
	}
}

// BenchmarkNonceCountsUseAtExpiry is a table in its steady state under load: full of
// live nonces, each new one arriving as the oldest expires, as at a constant
// challenge rate; the table is too big for the processor's caches.
func BenchmarkNonceCountsUseAtExpiry(b *testing.B) {
	const live = 1 << 17
	const step = 10 * time.Millisecond // between challenges
	n := NewNonceCounts(2*live, live*step-MaxClockSkew)
	nonces := make([]string, 2*live) // a nonce comes back only once forgotten
	for i := range nonces {
		nonces[i] = "nonce-" + strconv.Itoa(i)
	}
	i := 0
	use := func() {
		n.Use(nonces[i%len(nonces)], 1, t0.Add(time.Duration(i)*step))
		i++
	}
	for range live {
		use()
	}
	b.ReportAllocs()
	for b.Loop() {
		use()
	}
}
