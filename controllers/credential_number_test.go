package controllers

import (
	"testing"

	"github.com/voipbin/registrar-operator/api/published"
)

// credentialNumber gives back the number a credential Secret's name was made of, in
// each of its spellings, and nothing for a name of another customer or form.
func TestCredentialNumberInvertsTheCredentialNames(t *testing.T) {
	for _, c := range []struct{ customer, number string }{{"acme", "1001"}, {"acme-1", "01"}, {"acme", "1-01"}, {"acme", "a..b"}, {"acme", "x.-y"}} {
		for _, name := range []string{published.CredentialSecretName(c.customer, c.number), published.LegacyCredentialSecretName(c.customer, c.number)} {
			if got, ok := credentialNumber(c.customer, name); !ok || got != c.number {
				t.Errorf("credentialNumber(%q, %q) = %q, %v; want %q", c.customer, name, got, ok, c.number)
			}
		}
	}
	for _, name := range []string{"sip-cred-other.1001", "sip-domain-acme", "sip-cred--acme.zz", "sip-cred-acme."} {
		if got, ok := credentialNumber("acme", name); ok {
			t.Errorf("credentialNumber(acme, %q) = %q, want none", name, got)
		}
	}
}
