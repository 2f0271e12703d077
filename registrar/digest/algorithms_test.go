package digest

import (
	"slices"
	"testing"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

func TestChallengeAlgorithmsAndAccepts(t *testing.T) {
	const md5, sha = sipv1.DigestMD5, sipv1.DigestSHA256
	type algs = []sipv1.DigestAlgorithm
	tests := []struct {
		name              string
		domain, extension algs
		challenge         algs // the headers, in order
		accepts           algs
		refuses           algs
	}{
		{"domain without a list: MD5", nil, nil, algs{md5}, algs{md5}, algs{sha}},
		{"default domain", algs{md5}, nil, algs{md5}, algs{md5}, algs{sha}},
		// The case: a client reading only the first header, or giving up on
		// one it cannot compute, must get MD5 alone.
		{"both offered, no override: the preferred alone", algs{md5, sha}, nil, algs{md5}, algs{md5, sha}, nil},
		{"SHA-256 preferred, no override", algs{sha, md5}, nil, algs{sha}, algs{md5, sha}, nil},
		{"SHA-256 device beside MD5 ones", algs{md5, sha}, algs{sha}, algs{sha}, algs{sha}, algs{md5}},
		{"old device in a SHA-256 domain", algs{sha, md5}, algs{md5}, algs{md5}, algs{md5}, algs{sha}},
		{"device picking among several", algs{md5, sha}, algs{sha, md5}, algs{sha, md5}, algs{md5, sha}, nil},
		{"override partly outside the domain", algs{md5}, algs{sha, md5}, algs{md5}, algs{md5}, algs{sha}},
		// Never offer what the domain refuses; fall back to its preference.
		{"override wholly outside the domain", algs{md5}, algs{sha}, algs{md5}, algs{md5}, algs{sha}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChallengeAlgorithms(tc.domain, tc.extension); !slices.Equal(got, tc.challenge) {
				t.Errorf("ChallengeAlgorithms = %v, want %v", got, tc.challenge)
			}
			for _, a := range tc.accepts {
				if !Accepts(tc.domain, tc.extension, a) {
					t.Errorf("Accepts(%s) = false, want true", a)
				}
			}
			for _, a := range tc.refuses {
				if Accepts(tc.domain, tc.extension, a) {
					t.Errorf("Accepts(%s) = true, want false", a)
				}
			}
		})
	}
}

// The challenge path runs for every first REGISTER: the usual cases allocate nothing.
func TestChallengeAlgorithmsDoesNotAllocate(t *testing.T) {
	domain := []sipv1.DigestAlgorithm{sipv1.DigestMD5, sipv1.DigestSHA256}
	ext := []sipv1.DigestAlgorithm{sipv1.DigestSHA256}
	if n := testing.AllocsPerRun(100, func() {
		_ = ChallengeAlgorithms(domain, nil)
		_ = ChallengeAlgorithms(domain, ext)
		_ = Accepts(domain, ext, sipv1.DigestSHA256)
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}
