package digest

import (
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

func TestStyleOf(t *testing.T) {
	for _, tc := range []struct {
		style        sipv1.ChallengeStyle
		code         int
		reason, name string
	}{
		{sipv1.ChallengeWWWAuthenticate, 401, "Unauthorized", "WWW-Authenticate"},
		{sipv1.ChallengeProxyAuthenticate, 407, "Proxy Authentication Required", "Proxy-Authenticate"},
		{"", 407, "Proxy Authentication Required", "Proxy-Authenticate"}, // the CRD's default
	} {
		t.Run(string(tc.style), func(t *testing.T) {
			if s := StyleOf(tc.style); s.Code != tc.code || s.Reason != tc.reason || s.Header != tc.name {
				t.Errorf("StyleOf(%q) = %+v, want %d %s with %s", tc.style, s, tc.code, tc.reason, tc.name)
			}
		})
	}
}

// A challenge of either style carries one header of that style per algorithm
// ChallengeAlgorithms picks, the preferred first, all with one nonce.
func TestAddChallenges(t *testing.T) {
	const md5, sha = sipv1.DigestMD5, sipv1.DigestSHA256
	type algs = []sipv1.DigestAlgorithm
	for _, tc := range []struct {
		name        string
		style       Style
		domain, own algs
		stale       bool
		want        []string
	}{
		{"401, domain default", Unauthorized, nil, nil, false, []string{
			`Digest realm="acme.example", nonce="n1", algorithm=MD5, qop="auth"`,
		}},
		{"407, the domain's preferred alone", ProxyAuthRequired, algs{sha, md5}, nil, false, []string{
			`Digest realm="acme.example", nonce="n1", algorithm=SHA-256, qop="auth"`,
		}},
		{"407, an extension's own, in its order, stale", ProxyAuthRequired, algs{md5, sha}, algs{sha, md5}, true, []string{
			`Digest realm="acme.example", nonce="n1", algorithm=SHA-256, qop="auth", stale=true`,
			`Digest realm="acme.example", nonce="n1", algorithm=MD5, qop="auth", stale=true`,
		}},
		{"401, an extension's own", Unauthorized, algs{md5, sha}, algs{sha}, false, []string{
			`Digest realm="acme.example", nonce="n1", algorithm=SHA-256, qop="auth"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := sip.NewResponse(tc.style.Code, tc.style.Reason)
			AddChallenges(res, tc.style, testRealm, "n1", tc.domain, tc.own, tc.stale)
			var got []string
			for _, h := range res.Headers() {
				if h.Name() != tc.style.Header {
					t.Errorf("header %s in a %d", h.Name(), tc.style.Code)
					continue
				}
				got = append(got, h.Value())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("challenges\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
