package testenv

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// WriteAdminKubeconfig writes, into dir, a kubeconfig for user as a cluster admin
// (system:masters) of the test API server, for a program the test runs, and
// returns its path.
func (e *Env) WriteAdminKubeconfig(dir, user string) (string, error) {
	u, err := e.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("while adding the user %s: %w", user, err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("while writing a kubeconfig for %s: %w", user, err)
	}
	f := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		return "", fmt.Errorf("while writing %s: %w", f, err)
	}
	return f, nil
}
