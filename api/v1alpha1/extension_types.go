package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// SecretKeyReference names one key of a Secret in the Extension's namespace.
type SecretKeyReference struct {
	// name is the name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="passwordSecretRef.name must be a Secret name: lowercase letters, digits, '-' and '.' (a DNS-1123 subdomain)"
	Name string `json:"name"`
	// key is the key within the Secret that holds the password.
	// +kubebuilder:default=password
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// ExtensionAuthentication is the digest challenge of one extension's devices.
type ExtensionAuthentication struct {
	// algorithms are the digest algorithms this extension's devices are challenged
	// with, one header each, the preferred first; only these are accepted in their
	// answers. Each must be among the Domain's spec.authentication.algorithms (the
	// Extension is not Ready otherwise). Set [SHA-256] for a device that computes
	// SHA-256 digests (RFC 8760), and list both only for a device known to pick among
	// several challenge headers.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +listType=set
	// +required
	Algorithms []DigestAlgorithm `json:"algorithms"`
}

// ExtensionSpec declares a user or device of a Domain.
type ExtensionSpec struct {
	// domainRef is the name of the Domain, in this namespace, the extension belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="domainRef must be the name of a Domain: lowercase letters, digits, '-' and '.' (a DNS-1123 subdomain)"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="domainRef is immutable: create a new Extension in the other domain"
	DomainRef string `json:"domainRef"`

	// extension is the user part of the address of record, {extension}@{domain}.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$')",message="extension must be lowercase letters and digits, optionally with inner '-' or '.', such as 1001 or alice"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="extension is immutable: create a new Extension for another number"
	Extension string `json:"extension"`

	// passwordSecretRef names the Secret key holding the digest password. When absent,
	// the operator generates a strong password into the Secret {name}-sip-password.
	// +optional
	PasswordSecretRef *SecretKeyReference `json:"passwordSecretRef,omitempty"`

	// maxContacts overrides the Domain's maxContacts for this extension.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	// +optional
	MaxContacts *int32 `json:"maxContacts,omitempty"`

	// authentication overrides, for this extension's devices, how the Domain challenges them.
	// +optional
	Authentication *ExtensionAuthentication `json:"authentication,omitempty"`

	// disabled refuses the extension's registrations and drops its bindings, keeping its credentials.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
}

// Binding is one registered contact of an extension, written by the registrar that holds it.
type Binding struct {
	// uri is the Contact URI the device registered.
	// +required
	URI string `json:"uri"`
	// registrar is the registrar replica (pod name) that holds the binding.
	// +required
	Registrar string `json:"registrar"`
	// source is the address the REGISTER came from (received/rport), host:port.
	// +optional
	Source string `json:"source,omitempty"`
	// transport is what the REGISTER came over: UDP, TCP, TLS, WS or WSS.
	// +optional
	Transport string `json:"transport,omitempty"`
	// userAgent is the User-Agent the device announced.
	// +optional
	UserAgent string `json:"userAgent,omitempty"`
	// expires is the registration interval granted, in seconds.
	// +optional
	Expires int32 `json:"expires,omitempty"`
	// q is the Contact's q (RFC 3261 §20.10), its preference among the extension's
	// bindings, as the 200 OK lists it ("0.5", "1"); omitted when the Contact had
	// none, which calls count as 1. A call tries the bindings of the highest q
	// first, those of equal q at once, whichever replica it reaches.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$`
	Q string `json:"q,omitempty"`
	// expiresAt is when this entry leaves status at the latest. The registrar that
	// holds the binding removes it sooner when the device stops refreshing; this
	// lease only matters when that registrar is gone.
	// +required
	ExpiresAt metav1.Time `json:"expiresAt"`
	// registeredAt is when this device first registered this contact.
	// +optional
	RegisteredAt metav1.Time `json:"registeredAt,omitempty"`
	// callID is the Call-ID of the REGISTER that created or last refreshed the
	// binding's lease; with cseq it orders refreshes after a registrar restart
	// (RFC 3261 §10.3 step 7).
	// +optional
	CallID string `json:"callID,omitempty"`
	// cseq is the CSeq number of that REGISTER.
	// +optional
	CSeq uint32 `json:"cseq,omitempty"`
	// instance is the device's +sip.instance (RFC 5626), without its quotes. With
	// regID it makes the binding an outbound flow: requests reach the device only
	// over the connection (or UDP address) it registered on.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Instance string `json:"instance,omitempty"`
	// regID is the flow's reg-id (RFC 5626).
	// +optional
	// +kubebuilder:validation:Minimum=1
	RegID int32 `json:"regID,omitempty"`
	// path is the Path (RFC 3327) the REGISTER came through, as its header value:
	// the proxies, top first, that requests to this binding go through.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Path string `json:"path,omitempty"`
	// flowRoute is where other registrar replicas send requests for a binding
	// only one replica reaches: a SIP URI of the replica that holds the device's
	// outbound flow or, for a TCP, TLS or WebSocket binding without path, its
	// connection.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	FlowRoute string `json:"flowRoute,omitempty"`
}

// ExtensionStatus is what the operator and the registrars observed of an Extension.
type ExtensionStatus struct {
	// observedGeneration is the generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// addressOfRecord is {extension}@{domain}.
	// +optional
	AddressOfRecord string `json:"addressOfRecord,omitempty"`

	// passwordSecret names the Secret (in this namespace) that holds the password.
	// +optional
	PasswordSecret string `json:"passwordSecret,omitempty"`

	// bindings are the registered contacts, one entry per contact URI, each written
	// by the registrar replica that holds it.
	// +listType=map
	// +listMapKey=uri
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Bindings []Binding `json:"bindings,omitempty"`

	// contacts counts the bindings.
	// +kubebuilder:default=0
	// +optional
	Contacts int32 `json:"contacts"`

	// conditions are Ready (with Reconciling and Stalled while it applies), as kstatus reads them.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ext;sipext,categories=sip
// +kubebuilder:printcolumn:name="Extension",type=string,JSONPath=`.spec.extension`
// +kubebuilder:printcolumn:name="Domain",type=string,JSONPath=`.spec.domainRef`
// +kubebuilder:printcolumn:name="AOR",type=string,JSONPath=`.status.addressOfRecord`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Contacts",type=integer,JSONPath=`.status.contacts`
// +kubebuilder:printcolumn:name="Transport",type=string,JSONPath=`.status.bindings[0].transport`,priority=1,description="Transport of the first binding: UDP, TCP, TLS, WS or WSS"
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Extension is a user or device of a Domain, registered as {extension}@{domain}.
// The name rule holds at creation only (a name never changes), so that an object
// named longer before it can still lose its finalizer and go.
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || size(self.metadata.name) <= 63",optionalOldSelf=true,message="metadata.name must be at most 63 characters: the operator labels the credential it publishes with the Extension's name, and a label value is limited to 63"
type Extension struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the extension, its Domain and its credentials.
	// +required
	Spec ExtensionSpec `json:"spec"`
	// status is what the operator and the registrars observed of the Extension.
	// +optional
	Status ExtensionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ExtensionList contains a list of Extension.
type ExtensionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Extension `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &Extension{}, &ExtensionList{})
		return nil
	})
}
