// Package published is the contract between the operator and the registrar pods: the
// objects the operator writes into the registrar's namespace and how they are laid out.
//
// One ConfigMap per Domain (not one shared ConfigMap) and one Secret per Extension keep
// every object far from the 1 MiB limit at 10,000 domains and 100,000 extensions, and
// every write small.
package published

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// Labels the registrar selects its objects by, and that point back at their source.
const (
	LabelComponent      = "app.kubernetes.io/component"
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	LabelCustomer       = "sip.voipbin.net/customer"
	LabelSourceNS       = "sip.voipbin.net/source-namespace"
	LabelSourceName     = "sip.voipbin.net/source-name"
	ManagedBy           = "registrar-operator"
	ComponentDomain     = "sip-domain"
	ComponentCredential = "sip-credential"
	ComponentNonceKey   = "sip-nonce-key"
)

// Keys of a credential Secret. The plain password is never among them.
const (
	KeyDomain      = "domain"
	KeyExtension   = "extension"
	KeyHA1MD5      = "ha1-md5"
	KeyHA1SHA256   = "ha1-sha256"
	KeyMaxContacts = "max-contacts"
	KeyConfigJSON  = "domain.json"
	KeyNonceKey    = "key"
	// KeyAlgorithms lists the extension's own challenge algorithms (EncodeAlgorithms);
	// absent when the Domain's preference applies.
	KeyAlgorithms = "algorithms"
)

// NonceKeySecretName is the Secret holding the HMAC key every registrar replica signs
// and checks nonces with.
const NonceKeySecretName = "registrar-nonce-key"

// DomainConfigMapName is the ConfigMap that publishes one domain to the registrars.
// The customer ID is unique among Ready domains, so it names the object, and after a
// fixed prefix no two customer IDs give one name.
func DomainConfigMapName(customerID string) string { return "sip-domain-" + customerID }

// CredentialSecretName is the Secret that holds one extension's HA1 values:
// sip-cred-{customerID}.{extension}. A customer ID is a DNS label, without a dot, so
// the first dot tells the two apart and no two extensions share a name (customer
// acme-1 with extension 01 is sip-cred-acme-1.01; customer acme with 1-01 is
// sip-cred-acme.1-01). An extension that is no DNS name (two dots in a row, or a dot
// beside a '-') is spelt in hex after a double hyphen, sip-cred--{customerID}.{hex},
// which no customer ID can begin with. The longest name is 138 characters.
func CredentialSecretName(customerID, extension string) string {
	if len(validation.IsDNS1123Subdomain(extension)) > 0 {
		return "sip-cred--" + customerID + "." + hex.EncodeToString([]byte(extension))
	}
	return "sip-cred-" + customerID + "." + extension
}

// LegacyCredentialSecretName is the name releases before this one gave an extension's
// Secret; two extensions could share it. It is read only to carry an installation
// over: the operator republishes under CredentialSecretName, then deletes its own
// Secret of the old name.
func LegacyCredentialSecretName(customerID, extension string) string {
	return "sip-cred-" + customerID + "-" + extension
}

// DomainName is the SIP domain of a customer.
func DomainName(customerID, suffix string) string { return customerID + "." + suffix }

// DomainConfig is what a registrar needs to know of a domain; it is stored as JSON
// under KeyConfigJSON in the domain's ConfigMap.
type DomainConfig struct {
	CustomerID     string                  `json:"customerID"`
	Domain         string                  `json:"domain"`
	Realm          string                  `json:"realm"`
	Namespace      string                  `json:"namespace"`
	Name           string                  `json:"name"`
	MinExpires     int32                   `json:"minExpires"`
	DefaultExpires int32                   `json:"defaultExpires"`
	MaxExpires     int32                   `json:"maxExpires"`
	MaxContacts    int32                   `json:"maxContacts"`
	OnMaxContacts  sipv1.MaxContactsAction `json:"onMaxContacts"`
	Challenge      sipv1.ChallengeStyle    `json:"challenge"`
	Algorithms     []sipv1.DigestAlgorithm `json:"algorithms"`
}

// NewDomainConfig derives the published form of a Domain.
func NewDomainConfig(d *sipv1.Domain, suffix string) DomainConfig {
	name := DomainName(d.Spec.CustomerID, suffix)
	p, a := d.Spec.Registration, d.Spec.Authentication
	return DomainConfig{
		CustomerID:     d.Spec.CustomerID,
		Domain:         name,
		Realm:          name,
		Namespace:      d.Namespace,
		Name:           d.Name,
		MinExpires:     p.MinExpires,
		DefaultExpires: p.DefaultExpires,
		MaxExpires:     p.MaxExpires,
		MaxContacts:    p.MaxContacts,
		OnMaxContacts:  p.OnMaxContacts,
		Challenge:      a.Challenge,
		Algorithms:     a.Algorithms,
	}
}

// Encode renders the config as the ConfigMap value.
func (c DomainConfig) Encode() string {
	b, err := json.Marshal(c)
	if err != nil { // a struct of strings and numbers always marshals
		panic(fmt.Sprintf("while encoding the domain config: %v", err))
	}
	return string(b)
}

// DecodeDomainConfig parses a ConfigMap value written by Encode.
func DecodeDomainConfig(s string) (DomainConfig, error) {
	var c DomainConfig
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("while decoding the domain config: %w", err)
	}
	if c.Domain == "" || c.Realm == "" {
		return c, fmt.Errorf("domain config names no domain or realm")
	}
	return c, nil
}
