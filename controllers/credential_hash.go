package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// annotationCredentialHash records, on a credential Secret, what its data was derived
// from and what the data is: "<inputs>.<data>", two truncated SHA-256 sums. The
// operator caches its credential Secrets without their data (100,000 HA1 sets cost
// memory the registrars, not the operator, need), so it tells from the metadata
// alone whether a credential is current: the inputs sum names the password Secret's
// UID and resourceVersion (any edit of that Secret changes it) and everything else the
// data holds; the data sum lets the informer's transform see, while the data is still
// in hand, whether someone edited the data by hand.
const annotationCredentialHash = "sip.voipbin.net/credential-hash"

// credentialInputs is what a credential's data derives from. The password is named
// by its Secret's identity and version, never by its value.
type credentialInputs struct {
	secretUID     types.UID
	secretVersion string
	realm         string
	// plain is the data but for the HA1 values: domain, extension, max contacts,
	// algorithms.
	plain map[string][]byte
}

// credentialHashVersion changes when what the data holds or how it is derived changes,
// so that every credential is rewritten once.
const credentialHashVersion = "v1"

func (in credentialInputs) sum() string {
	h := sha256.New()
	for _, s := range []string{credentialHashVersion, string(in.secretUID), in.secretVersion, in.realm} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	writeData(h, in.plain)
	return short(h.Sum(nil))
}

// credentialDataSum sums a credential's data, the keys in order.
func credentialDataSum(data map[string][]byte) string {
	h := sha256.New()
	writeData(h, data)
	return short(h.Sum(nil))
}

func writeData(h interface{ Write([]byte) (int, error) }, data map[string][]byte) {
	for _, k := range slices.Sorted(maps.Keys(data)) {
		_, _ = h.Write([]byte(k))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write(data[k])
		_, _ = h.Write([]byte{0})
	}
}

// short is the first 128 bits: a collision would need to be found on purpose, and
// only the operator writes the annotation it compares against.
func short(sum []byte) string { return hex.EncodeToString(sum[:16]) }

// credentialHash joins the two sums into the annotation's value.
func credentialHash(inputs, data string) string { return inputs + "." + data }

// splitCredentialHash returns the inputs and data sums of the annotation, empty when
// it is absent or malformed.
func splitCredentialHash(s *corev1.Secret) (inputs, data string) {
	inputs, data, ok := strings.Cut(s.Annotations[annotationCredentialHash], ".")
	if !ok {
		return "", ""
	}
	return inputs, data
}
