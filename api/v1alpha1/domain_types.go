package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultDomainSuffix is appended to a Domain's customerID to form its SIP domain
// unless the operator is started with another suffix.
const DefaultDomainSuffix = "registrar.voipbin.net"

// ChallengeStyle selects how the registrar asks a device for credentials.
// +kubebuilder:validation:Enum=ProxyAuthenticate;WWWAuthenticate
type ChallengeStyle string

const (
	// ChallengeProxyAuthenticate answers 407 with Proxy-Authenticate, as the reference service does.
	ChallengeProxyAuthenticate ChallengeStyle = "ProxyAuthenticate"
	// ChallengeWWWAuthenticate answers 401 with WWW-Authenticate, as Asterisk and Kamailio do.
	ChallengeWWWAuthenticate ChallengeStyle = "WWWAuthenticate"
)

// DigestAlgorithm is a digest algorithm the registrar offers in its challenges.
// +kubebuilder:validation:Enum=MD5;SHA-256
type DigestAlgorithm string

const (
	DigestMD5    DigestAlgorithm = "MD5"
	DigestSHA256 DigestAlgorithm = "SHA-256"
)

// MaxContactsAction says what a REGISTER that would exceed maxContacts does.
// +kubebuilder:validation:Enum=ReplaceOldest;Reject
type MaxContactsAction string

const (
	// ReplaceOldest drops the binding registered longest ago to make room (VoIPbin's behaviour).
	ReplaceOldest MaxContactsAction = "ReplaceOldest"
	// Reject refuses the REGISTER with 403 and keeps the existing bindings.
	Reject MaxContactsAction = "Reject"
)

// RegistrationPolicy shapes how long and how many bindings an extension may hold.
// +kubebuilder:validation:XValidation:rule="self.minExpires <= self.maxExpires",message="minExpires must not be greater than maxExpires"
// +kubebuilder:validation:XValidation:rule="self.minExpires <= self.defaultExpires && self.defaultExpires <= self.maxExpires",message="defaultExpires must lie between minExpires and maxExpires"
type RegistrationPolicy struct {
	// minExpires is the shortest registration interval accepted, in seconds; shorter
	// requests (other than 0, which de-registers) are answered 423 Interval Too Brief.
	// An interval of an hour or more is never refused, whatever minExpires says
	// (RFC 3261 §10.3 allows refusing only one under an hour).
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	MinExpires int32 `json:"minExpires,omitempty"`

	// defaultExpires applies when a REGISTER names no expiry, in seconds.
	// +kubebuilder:default=3600
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	DefaultExpires int32 `json:"defaultExpires,omitempty"`

	// maxExpires is the longest registration interval granted, in seconds; longer
	// requests are shortened to it.
	// +kubebuilder:default=7200
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	MaxExpires int32 `json:"maxExpires,omitempty"`

	// maxContacts is how many devices one extension may register at once.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	// +optional
	MaxContacts int32 `json:"maxContacts,omitempty"`

	// onMaxContacts says what happens to a REGISTER that would exceed maxContacts.
	// +kubebuilder:default=ReplaceOldest
	// +optional
	OnMaxContacts MaxContactsAction `json:"onMaxContacts,omitempty"`
}

// AuthenticationPolicy shapes the digest challenge devices receive.
type AuthenticationPolicy struct {
	// challenge is the style of the challenge: 407 Proxy-Authenticate (the reference
	// service's) or 401 WWW-Authenticate. Credentials are accepted in either
	// Authorization or Proxy-Authorization whatever the style.
	// +kubebuilder:default=ProxyAuthenticate
	// +optional
	Challenge ChallengeStyle `json:"challenge,omitempty"`

	// algorithms are the digest algorithms the domain accepts, the preferred first.
	// Devices are challenged with the first alone: many clients (baresip 1.0, JsSIP,
	// SIP.js) fail when a challenge carries several headers (RFC 8760) or one they
	// cannot compute. An Extension's spec.authentication.algorithms chooses others,
	// or several, for that extension's devices. With [MD5, SHA-256] every device is
	// challenged with MD5 and the Extensions that say so with SHA-256.
	// +kubebuilder:default={"MD5"}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +listType=set
	// +optional
	Algorithms []DigestAlgorithm `json:"algorithms,omitempty"`
}

// DomainSpec declares one customer's SIP domain.
type DomainSpec struct {
	// customerID names the customer; the SIP domain is {customerID}.{suffix}.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="customerID must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="customerID is immutable: create a new Domain for another customer"
	CustomerID string `json:"customerID"`

	// registration is the registration policy of every extension in this domain.
	// +kubebuilder:default={minExpires:60,defaultExpires:3600,maxExpires:7200,maxContacts:3,onMaxContacts:ReplaceOldest}
	// +optional
	Registration RegistrationPolicy `json:"registration,omitempty"`

	// authentication is the digest challenge policy of this domain.
	// +kubebuilder:default={challenge:ProxyAuthenticate,algorithms:{MD5}}
	// +optional
	Authentication AuthenticationPolicy `json:"authentication,omitempty"`
}

// DomainStatus is what the operator observed of a Domain.
type DomainStatus struct {
	// observedGeneration is the generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// domainName is the full SIP domain, {customerID}.{suffix}.
	// +optional
	DomainName string `json:"domainName,omitempty"`

	// realm is the digest realm devices authenticate against (the domain name).
	// +optional
	Realm string `json:"realm,omitempty"`

	// extensions counts the Extensions that refer to this Domain.
	// +kubebuilder:default=0
	// +optional
	Extensions int32 `json:"extensions"`

	// registeredExtensions counts the Extensions with at least one live binding.
	// +kubebuilder:default=0
	// +optional
	RegisteredExtensions int32 `json:"registeredExtensions"`

	// conditions are Ready (with Reconciling and Stalled while it applies), as kstatus reads them.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sipdomain;sipdom,categories=sip
// +kubebuilder:printcolumn:name="Customer",type=string,JSONPath=`.spec.customerID`
// +kubebuilder:printcolumn:name="Domain",type=string,JSONPath=`.status.domainName`
// +kubebuilder:printcolumn:name="Extensions",type=integer,JSONPath=`.status.extensions`
// +kubebuilder:printcolumn:name="Registered",type=integer,JSONPath=`.status.registeredExtensions`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Domain is one customer's SIP domain, {customerID}.registrar.voipbin.net, with the
// registration and authentication policy of its extensions.
// The name rule holds at creation only (a name never changes), so that an object
// named longer before it can still lose its finalizer and go.
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || size(self.metadata.name) <= 63",optionalOldSelf=true,message="metadata.name must be at most 63 characters: the operator labels the config it publishes with the Domain's name, and a label value is limited to 63"
type Domain struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the customer and the policy of its extensions.
	// +required
	Spec DomainSpec `json:"spec"`
	// status is what the operator observed of the Domain.
	// +optional
	Status DomainStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// DomainList contains a list of Domain.
type DomainList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Domain `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &Domain{}, &DomainList{})
		return nil
	})
}
