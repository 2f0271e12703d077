package published

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The patterns of the CRD's validation (api/v1alpha1), which decide what a customer
// ID and an extension can be.
var (
	validCustomerID = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	validExtension  = regexp.MustCompile(`^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$`)
)

// Every string of up to n characters from alphabet that matches valid.
func allValid(alphabet string, n int, valid *regexp.Regexp) []string {
	var out []string
	words := []string{""}
	for range n {
		var next []string
		for _, w := range words {
			for _, c := range alphabet {
				next = append(next, w+string(c))
			}
		}
		words = next
		for _, w := range words {
			if valid.MatchString(w) {
				out = append(out, w)
			}
		}
	}
	return out
}

// Every pair of a customer ID and an extension made of the characters that can mix
// them up ('-', '.', a letter, a digit) gets a Secret name of its own, and one
// Kubernetes accepts.
func TestCredentialSecretNamesAreDistinctAndValid(t *testing.T) {
	customers := allValid("a1-", 5, validCustomerID)
	extensions := allValid("a1-.", 5, validExtension)
	seen := make(map[string]string, len(customers)*len(extensions))
	for _, c := range customers {
		for _, e := range extensions {
			name := CredentialSecretName(c, e)
			if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
				t.Fatalf("customer %q, extension %q: Secret name %q is invalid: %v", c, e, name, errs)
			}
			if prev, ok := seen[name]; ok {
				t.Fatalf("customer %q, extension %q: Secret name %q is also that of %s", c, e, name, prev)
			}
			seen[name] = c + " " + e
		}
	}
	if len(seen) < 10_000 {
		t.Fatalf("only %d pairs tried", len(seen))
	}
}

// The pair the previous names mixed up, and the longest names there can be.
func TestCredentialSecretNamesOfTheCollidingTenants(t *testing.T) {
	a, b := CredentialSecretName("acme-1", "01"), CredentialSecretName("acme", "1-01")
	if a == b {
		t.Fatalf("acme-1/01 and acme/1-01 share %q", a)
	}
	if LegacyCredentialSecretName("acme-1", "01") != LegacyCredentialSecretName("acme", "1-01") {
		t.Fatal("the legacy names no longer reproduce what the previous release wrote")
	}
	longest := []string{
		CredentialSecretName(strings.Repeat("c", 63), strings.Repeat("1", 32)),
		CredentialSecretName(strings.Repeat("c", 63), "1"+strings.Repeat(".-", 15)+"1"),
	}
	for _, name := range longest {
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Errorf("%q: %v", name, errs)
		}
	}
}
