package published

import (
	"slices"
	"strings"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// EncodeAlgorithms renders an Extension's challenge algorithms for KeyAlgorithms:
// "SHA-256" or "SHA-256,MD5", in the Extension's order.
func EncodeAlgorithms(algs []sipv1.DigestAlgorithm) string {
	parts := make([]string, len(algs))
	for i, a := range algs {
		parts[i] = string(a)
	}
	return strings.Join(parts, ",")
}

// algorithmLists are every list DecodeAlgorithms can return: credentials share them,
// so that 100,000 of them cost no list of their own.
var algorithmLists = [][]sipv1.DigestAlgorithm{
	{sipv1.DigestMD5},
	{sipv1.DigestSHA256},
	{sipv1.DigestMD5, sipv1.DigestSHA256},
	{sipv1.DigestSHA256, sipv1.DigestMD5},
}

// DecodeAlgorithms reads what EncodeAlgorithms wrote; nil for an empty value. Unknown
// names and repeats are skipped (a newer operator may know more algorithms), so the
// result is nil or one of a few shared lists: do not modify it.
func DecodeAlgorithms(s string) []sipv1.DigestAlgorithm {
	var room [2]sipv1.DigestAlgorithm
	algs := room[:0]
	for part := range strings.SplitSeq(s, ",") {
		a := sipv1.DigestAlgorithm(strings.TrimSpace(part))
		if (a == sipv1.DigestMD5 || a == sipv1.DigestSHA256) && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	for _, l := range algorithmLists {
		if slices.Equal(l, algs) {
			return l
		}
	}
	return nil
}
