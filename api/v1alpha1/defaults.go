package v1alpha1

// The defaults of RegistrationPolicy. The API server applies them from the
// +kubebuilder:default markers on the fields; the registrar applies these constants
// to a published zero (a config written before a field existed). A test checks that
// the two agree with the generated CRD.
const (
	DefaultMinExpires     int32 = 60
	DefaultDefaultExpires int32 = 3600
	DefaultMaxExpires     int32 = 7200
	DefaultMaxContacts    int32 = 3
	DefaultOnMaxContacts        = ReplaceOldest
)
