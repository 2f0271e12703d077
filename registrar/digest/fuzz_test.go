package digest

import (
	"errors"
	"strings"
	"testing"
)

func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		sipHeader,
		string(rfc2617.AppendTo(nil)),
		string(rfc7616.AppendTo(nil)),
		`Digest username="a\"b\\c", realm="r, r", nonce="n", uri="sip:x", response="abc"`,
		`digest USERNAME=u,REALM=r,NONCE=n,URI=sip:x,RESPONSE=abc,,,`,
		`Digest username="u", realm="r", nonce="n", uri="sip:x", response="abc", qop=auth, cnonce="c", nc=0000000G`,
		`Digest username="u", username="u"`,
		`Digest username="unterminated`,
		`Digest username="\`,
		"Digest username=\"\x00\"",
		`Basic Zm9vOmJhcg==`,
		`Digest ===`,
		`Digest`,
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseCredentials(in)
		if err != nil {
			if !errors.Is(err, ErrMalformedCredentials) && !errors.Is(err, ErrNotDigest) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		for _, v := range []string{c.Username, c.Realm, c.Nonce, c.URI, c.Response} {
			if v == "" {
				t.Fatalf("required parameter empty in %+v", c)
			}
		}
		for _, v := range []string{c.Username, c.Realm, c.Nonce, c.Response, c.Algorithm, c.CNonce, c.QOP, c.NC, c.Opaque} {
			if len(v) > MaxParamLen {
				t.Fatalf("value of %d bytes accepted", len(v))
			}
		}
		if len(c.URI) > MaxURILen {
			t.Fatalf("uri of %d bytes accepted", len(c.URI))
		}
		if c.QOP != "" {
			if _, ok := parseNC(c.NC); !ok || c.CNonce == "" {
				t.Fatalf("qop without a good nc and cnonce: %+v", c)
			}
		}
		_ = Verify(c, "REGISTER", "00000000000000000000000000000000")

		// Rendering and parsing again must give the same credentials.
		h := c.AppendTo(nil)
		if len(h) > MaxCredentialsLen {
			return // the rendering spends more separators than the input did
		}
		c2, err := ParseCredentials(string(h))
		if err != nil {
			t.Fatalf("rendered %q fails to parse: %v", h, err)
		}
		if c2 != c {
			t.Fatalf("round trip of %q:\ngot  %+v\nwant %+v", in, c2, c)
		}
	})
}

func FuzzNonceCheck(f *testing.F) {
	// The one good nonce must be the same in every fuzzing process, or a worker would
	// find another process's good nonce and call it a forgery.
	s := NewNonceSigner(keyA, 0)
	good := s.issue(realm, t0, &[randLen]byte{1, 2, 3, 4, 5, 6, 7, 8})
	if err := s.Check(good, realm, t0); err != nil {
		f.Fatalf("the seed nonce is refused: %v", err)
	}
	f.Add(good[:NonceLen-1]+"B", realm)
	f.Add(good, realm+".")
	f.Add(strings.Repeat("A", NonceLen), realm)
	f.Add(strings.Repeat("_", NonceLen), "")
	f.Add(NewNonceSigner(keyB, 0).issue(realm, t0, &[randLen]byte{1, 2, 3, 4, 5, 6, 7, 8}), realm)
	f.Add("", realm)
	f.Add("not a nonce", realm)
	f.Fuzz(func(t *testing.T, nonce, r string) {
		if nonce == good && r == realm {
			return
		}
		err := s.Check(nonce, r, t0)
		if err == nil {
			t.Fatalf("Check accepted %q for realm %q", nonce, r)
		}
		if !errors.Is(err, ErrNonceInvalid) {
			t.Fatalf("Check(%q, %q) = %v, want ErrNonceInvalid", nonce, r, err)
		}
	})
}
