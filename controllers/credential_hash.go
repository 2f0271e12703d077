package controllers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/voipbin/registrar-operator/api/published"
)

// annotationCredentialHash records, on a credential Secret, what its data was derived
// from and what the data is: "<inputs>.<data>", two truncated HMAC-SHA256 sums under
// the operator's credentialHashKey. The operator caches its credential Secrets without
// their data (100,000 HA1 sets cost memory the registrars, not the operator, need), so
// it tells from the metadata alone whether a credential is current: the inputs sum
// names the password Secret's UID and resourceVersion (any edit of that Secret changes
// it) and everything else the data holds; the data sum tells a credential edited by
// hand. Both are keyed because annotations travel further than data (metadata-only
// watches, Argo CD, kubectl describe): an unkeyed sum of the HA1 values would let
// whoever sees it test password guesses offline.
//
// In the operator's watch of credentials, and only there, ".<digest>" is appended, the
// unkeyed digest of the data it drops (credentialVersions): the reconciler, which
// holds the key, checks the data sum against it (credentialIsCurrent).
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

// credentialHashVersion changes when what the data holds or how it is derived or
// summed changes, so that every credential is rewritten once. v2: keyed sums.
const credentialHashVersion = "v2"

// credentialHashKey keys both sums. It is derived from the nonce key, which the
// operator keeps in a Secret of the registrar namespace, so it is the same in every
// operator process and across restarts (nothing is rewritten), and is readable only
// by who may read that Secret, who may read the HA1 values themselves. A new nonce
// key (the Secret deleted and made anew) makes a new credentialHashKey: each
// credential's annotation is rewritten once, its data is not.
type credentialHashKey []byte

// minNonceKeyBytes is the shortest nonce key the registrars accept (digest.MinKeyLen).
const minNonceKeyBytes = 16

// deriveCredentialHashKey labels the derivation so that the nonce key's own uses
// (signing nonces and flow tokens) and this one never share a value.
func deriveCredentialHashKey(nonceKey []byte) credentialHashKey {
	m := hmac.New(sha256.New, nonceKey)
	m.Write([]byte("sip.voipbin.net/credential-hash " + credentialHashVersion))
	return m.Sum(nil)
}

// credentialKey reads the nonce key (from the cache, which holds the operator's
// Secrets with their data; from the API server when the cache does not have it: made
// by someone else, or just created) and derives the key of the credential sums. No
// nonce key yet is an error: the reconcile is retried, and nothing is withdrawn.
func (r *ExtensionReconciler) credentialKey(ctx context.Context) (credentialHashKey, error) {
	name := nonceKeyName(r.Options)
	s := &corev1.Secret{}
	err := r.Get(ctx, name, s)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, name, s)
	}
	if err != nil {
		return nil, fmt.Errorf("while reading the nonce key %s the credential sums are keyed with: %w", name, err)
	}
	k := s.Data[published.KeyNonceKey]
	if len(k) < minNonceKeyBytes {
		return nil, fmt.Errorf("while keying the credential sums: the nonce key %s holds %d bytes under %q, fewer than %d",
			name, len(k), published.KeyNonceKey, minNonceKeyBytes)
	}
	return deriveCredentialHashKey(k), nil
}

func (in credentialInputs) sum(key credentialHashKey) string {
	h := hmac.New(sha256.New, key)
	for _, s := range []string{credentialHashVersion, "inputs", string(in.secretUID), in.secretVersion, in.realm} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	writeData(h, in.plain)
	return short(h.Sum(nil))
}

// credentialDataDigest is the unkeyed digest of a credential's data, the keys in
// order. It never leaves the operator's memory: published, it would be a test of
// password guesses.
func credentialDataDigest(data map[string][]byte) string {
	h := sha256.New()
	writeData(h, data)
	return short(h.Sum(nil))
}

// credentialDataSum is the keyed sum of a credential's data, given its digest: the
// cache transform computes the digest while the data is in hand, without the key.
func credentialDataSum(key credentialHashKey, digest string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(credentialHashVersion + "\x00data\x00" + digest))
	return short(h.Sum(nil))
}

func writeData(h hash.Hash, data map[string][]byte) {
	for _, k := range slices.Sorted(maps.Keys(data)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(data[k])
		h.Write([]byte{0})
	}
}

// short is the first 128 bits: a collision would need to be found on purpose, and
// only the operator writes the annotation it compares against.
func short(sum []byte) string { return hex.EncodeToString(sum[:16]) }

// credentialHash is the annotation's value for data derived from inputs.
func credentialHash(key credentialHashKey, inputs credentialInputs, data map[string][]byte) string {
	return inputs.sum(key) + "." + credentialDataSum(key, credentialDataDigest(data))
}

// withCachedDataDigest is what the credential watch keeps of a credential's
// annotation: the value with the digest of the data it drops appended; nothing when
// there is no value.
func withCachedDataDigest(value string, data map[string][]byte) string {
	if value == "" {
		return ""
	}
	return value + "." + credentialDataDigest(data)
}

// credentialIsCurrent tells from a credential as the watch holds it whether it derives
// from inputs and its data is what the operator wrote: both sums must be the ones key
// gives, the data sum for the digest of the data the cache saw.
func credentialIsCurrent(cached *corev1.Secret, key credentialHashKey, inputs credentialInputs) bool {
	v := cached.Annotations[annotationCredentialHash]
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return false
	}
	haveInputs, haveData, ok := strings.Cut(v[:i], ".")
	return ok && hmac.Equal([]byte(haveInputs), []byte(inputs.sum(key))) &&
		hmac.Equal([]byte(haveData), []byte(credentialDataSum(key, v[i+1:])))
}
