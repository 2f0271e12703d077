// Package directory is the registrar's view of the domains and credentials the
// operator published: what the SIP side looks up on every request. A domain's
// registration policy is decoded (the CRD's defaults applied to a published zero)
// once, when its config is published, not on each REGISTER; see NewDomain.
//
// Published (published.go) is that view: it watches the ConfigMaps (domains) and
// Secrets (credentials, the nonce key) the operator publishes into the registrar's
// namespace. Extensions (extensions.go) is another: the cluster's Extensions, for
// the proxy, with the bindings every replica wrote into their status.
package directory

import (
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Credential is what authenticates one extension. It holds HA1 values, never a password.
type Credential struct {
	// Namespace and Name of the Extension, where its bindings are written.
	Namespace, Name string
	// Extension is the user part; Domain the SIP domain; AOR is Extension@Domain.
	Extension, Domain, AOR string
	// HA1MD5 and HA1SHA256 are hex HA1 values for the domain's realm.
	HA1MD5, HA1SHA256 string
	// MaxContacts overrides the domain's limit when above zero.
	MaxContacts int32
	// Algorithms are the extension's own challenge algorithms, nil when the domain's
	// preference applies (see digest.ChallengeAlgorithms). Shared: do not modify.
	Algorithms []sipv1.DigestAlgorithm
	// secret is the Secret it was read from: while the operator renames a Secret, two
	// carry one AOR, and the deletion of one must not forget the other.
	secret string
}

// HA1 returns the HA1 of an algorithm, "" when unknown.
func (c *Credential) HA1(alg sipv1.DigestAlgorithm) string {
	switch alg {
	case sipv1.DigestMD5:
		return c.HA1MD5
	case sipv1.DigestSHA256:
		return c.HA1SHA256
	}
	return ""
}

// Directory answers the lookups of the SIP hot path; implementations are safe for
// concurrent use and do no I/O in these calls.
type Directory interface {
	// Domain returns the served domain named host (lower case), if any.
	Domain(host string) (*Domain, bool)
	// Credential returns the credential of user in domain, if the extension may register.
	Credential(domain, user string) (*Credential, bool)
}

// Static is a Directory held in maps: for tests and benchmarks.
type Static struct {
	Domains     map[string]*Domain
	Credentials map[string]*Credential // by AOR
}

// Domain implements Directory.
func (s *Static) Domain(host string) (*Domain, bool) { d, ok := s.Domains[host]; return d, ok }

// Credential implements Directory.
func (s *Static) Credential(domain, user string) (*Credential, bool) {
	c, ok := s.Credentials[user+"@"+domain]
	return c, ok
}
