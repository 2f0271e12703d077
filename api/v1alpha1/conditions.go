package v1alpha1

// Condition types, as kstatus and Argo CD read them: Ready is the summary; Reconciling
// is True while the operator works toward Ready; Stalled is True when it cannot get
// there without a change from the user.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Reasons of the Ready condition.
const (
	// ReasonReady: everything the resource asks for is in place.
	ReasonReady = "Ready"
	// ReasonConflict: another resource already claims the same customer ID or extension.
	ReasonConflict = "Conflict"
	// ReasonDomainNotFound: spec.domainRef names no Domain in this namespace.
	ReasonDomainNotFound = "DomainNotFound"
	// ReasonDomainNotReady: the Domain exists but is not Ready (for example in conflict).
	ReasonDomainNotReady = "DomainNotReady"
	// ReasonDomainStalled: the Domain is Stalled (for example in conflict): it needs a
	// change from the user before its Extensions can become Ready.
	ReasonDomainStalled = "DomainStalled"
	// ReasonPasswordSecretNotFound: spec.passwordSecretRef names a Secret that does not exist.
	ReasonPasswordSecretNotFound = "PasswordSecretNotFound"
	// ReasonPasswordKeyNotFound: the password Secret has no such key, or it is empty.
	ReasonPasswordKeyNotFound = "PasswordKeyNotFound"
	// ReasonDisabled: spec.disabled is true; the registrar refuses the extension.
	ReasonDisabled = "Disabled"
	// ReasonAlgorithmNotOffered: spec.authentication.algorithms names a digest
	// algorithm the Domain does not accept.
	ReasonAlgorithmNotOffered = "AlgorithmNotOffered"
)

// Finalizer the operator puts on Extensions: their credential Secret lives in the
// registrar's namespace, where an owner reference cannot reach.
const ExtensionFinalizer = "sip.voipbin.net/credentials"
