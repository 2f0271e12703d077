package digest

import (
	"slices"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// The REGISTER handler and the proxy challenge alike (AddChallenges); the rule
// lives here once.
//
// A device is challenged with one header unless its Extension asks for several:
// RFC 8760 has a server offer one challenge per algorithm, but clients in the field
// fail on that. baresip 1.0 gives up on a header it cannot compute (SHA-256) even
// when an MD5 one follows, and JsSIP and SIP.js read only the first. So the Domain's
// list says what it accepts, its first entry is what every device is challenged
// with, and an Extension's own list names what its devices can do.

// md5Only is what a Domain that names no algorithm offers (the CRD's default).
var md5Only = []sipv1.DigestAlgorithm{sipv1.DigestMD5}

// ChallengeAlgorithms returns the algorithms to challenge one extension's device
// with, one header each, the preferred first. domain is the Domain's list (empty
// means MD5), extension the Extension's override (nil when it has none). An override
// counts only in what the Domain accepts; when nothing of it is left, or there is
// none, the answer is the Domain's preferred algorithm alone. The result may share
// memory with the arguments: do not modify it.
func ChallengeAlgorithms(domain, extension []sipv1.DigestAlgorithm) []sipv1.DigestAlgorithm {
	if len(domain) == 0 {
		domain = md5Only
	}
	if own := accepted(domain, extension); len(own) > 0 {
		return own
	}
	return domain[:1]
}

// Accepts reports whether a device of the extension may answer with alg: one of
// the extension's own algorithms the Domain accepts, or, without such an override,
// any of the Domain's. A device configured for SHA-256 is thus never downgraded to
// MD5 by a forged challenge, while one challenged before the Domain's preference
// changed still gets in.
func Accepts(domain, extension []sipv1.DigestAlgorithm, alg sipv1.DigestAlgorithm) bool {
	if len(domain) == 0 {
		domain = md5Only
	}
	if own := accepted(domain, extension); len(own) > 0 {
		return slices.Contains(own, alg)
	}
	return slices.Contains(domain, alg)
}

// accepted is the part of the extension's list the Domain accepts, in the
// extension's order. The usual case, all of it, returns the list itself: the
// challenge path allocates nothing for it.
func accepted(domain, extension []sipv1.DigestAlgorithm) []sipv1.DigestAlgorithm {
	all := true
	for _, a := range extension {
		if !slices.Contains(domain, a) {
			all = false
			break
		}
	}
	if all {
		return extension
	}
	var own []sipv1.DigestAlgorithm
	for _, a := range extension {
		if slices.Contains(domain, a) {
			own = append(own, a)
		}
	}
	return own
}
