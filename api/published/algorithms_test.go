package published

import (
	"slices"
	"testing"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

func TestAlgorithmsRoundTripAndShareTheirLists(t *testing.T) {
	md5, sha := sipv1.DigestMD5, sipv1.DigestSHA256
	for _, algs := range [][]sipv1.DigestAlgorithm{{md5}, {sha}, {md5, sha}, {sha, md5}} {
		s := EncodeAlgorithms(algs)
		got := DecodeAlgorithms(s)
		if !slices.Equal(got, algs) {
			t.Errorf("%q decodes to %v, want %v", s, got, algs)
		}
		// 100,000 credentials must not hold a list each.
		if again := DecodeAlgorithms(s); &again[0] != &got[0] {
			t.Errorf("%q decoded twice gives two lists", s)
		}
	}
	for in, want := range map[string][]sipv1.DigestAlgorithm{
		"":                       nil,
		"SHA-512-256":            nil, // a newer operator's algorithm: the domain's preference applies
		"SHA-512-256,SHA-256":    {sha},
		" SHA-256 , SHA-256,MD5": {sha, md5},
	} {
		if got := DecodeAlgorithms(in); !slices.Equal(got, want) {
			t.Errorf("DecodeAlgorithms(%q) = %v, want %v", in, got, want)
		}
	}
}
