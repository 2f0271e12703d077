// Package scheme builds the project's one runtime.Scheme: the Kubernetes built-in
// kinds and the sip.voipbin.net API. The operator, the registrar's client and its
// Extension watch all use it, so no layer needs another's package to talk to the API
// server.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// New returns a scheme that knows the built-in kinds and ours.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err) // only a programming error (a kind registered twice) fails here
	}
	if err := sipv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}
