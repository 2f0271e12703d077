package directory

import (
	"cmp"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// Domain is a served SIP domain: its published config, and the registration policy
// decoded from it once, when the config was published. REGISTERs read Policy, not
// the config's policy fields.
type Domain struct {
	published.DomainConfig
	// Policy is the domain's registration policy with the defaults applied.
	Policy location.Policy
}

// NewDomain decodes a published domain config.
func NewDomain(c published.DomainConfig) *Domain {
	return &Domain{DomainConfig: c, Policy: policyOf(&c)}
}

// policyOf is the registration policy a config publishes, a zero field taking the
// CRD's default (the sipv1.Default constants): a zero MaxContacts would otherwise
// allow a single contact and a zero MaxExpires any interval. The operator publishes
// what the API server defaulted, so zeros come only from a config written before
// the field existed.
func policyOf(c *published.DomainConfig) location.Policy {
	action := location.ReplaceOldest
	if cmp.Or(c.OnMaxContacts, sipv1.DefaultOnMaxContacts) == sipv1.Reject {
		action = location.Reject
	}
	return location.Policy{
		MinExpires:     orPositive(c.MinExpires, sipv1.DefaultMinExpires),
		DefaultExpires: orPositive(c.DefaultExpires, sipv1.DefaultDefaultExpires),
		MaxExpires:     orPositive(c.MaxExpires, sipv1.DefaultMaxExpires),
		MaxContacts:    int(orPositive(c.MaxContacts, sipv1.DefaultMaxContacts)),
		OnMaxContacts:  action,
	}
}

// orPositive is v, or def when v is not above zero.
func orPositive(v, def int32) int32 {
	if v > 0 {
		return v
	}
	return def
}
