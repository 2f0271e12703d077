// Package testenv starts the real kube-apiserver and etcd that the tests run against
// (built from Go modules by hack/envtest-assets.sh), with the project's CRDs installed.
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/voipbin/registrar-operator/api/scheme"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Assets returns the folder holding kube-apiserver and etcd: KUBEBUILDER_ASSETS when
// set (the Makefile sets it), else what hack/envtest-assets.sh prints, building the
// binaries on first use.
func Assets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command("bash", filepath.Join(Root(), "hack", "envtest-assets.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("while preparing the control-plane binaries: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Env is a running control plane.
type Env struct {
	*envtest.Environment
	Config *rest.Config
	Client client.Client
}

// Start brings up kube-apiserver and etcd with the CRDs of config/crd/bases; each
// change is applied to the environment before it starts.
func Start(changes ...func(*envtest.Environment)) (*Env, error) {
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	e := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(Root(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	for _, change := range changes {
		change(e)
	}
	cfg, err := e.Start()
	if err != nil {
		return nil, fmt.Errorf("while starting the test control plane: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("while creating a client: %w", err)
	}
	return &Env{Environment: e, Config: cfg, Client: c}, nil
}

// CreateNamespace creates a namespace with a generated name prefixed by prefix.
func (e *Env) CreateNamespace(ctx context.Context, prefix string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := e.Client.Create(ctx, ns); err != nil {
		return "", fmt.Errorf("while creating a namespace: %w", err)
	}
	return ns.Name, nil
}

// EnsureNamespace creates the namespace name unless it exists.
func (e *Env) EnsureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.Client.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
		return fmt.Errorf("while creating namespace %s: %w", name, err)
	}
	return nil
}

// Eventually polls check until it returns nil or the deadline passes, and returns the
// last error then. It is how tests wait: never a fixed sleep.
func Eventually(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	interval := 20 * time.Millisecond
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still failing after %s: %w", timeout, err)
		}
		time.Sleep(interval)
		interval = min(interval*2, 250*time.Millisecond)
	}
}

// Consistently checks that check keeps returning nil for the whole duration: how a test
// shows that something does not happen (no rewrite, no restart).
func Consistently(d time.Duration, check func() error) error {
	deadline := time.Now().Add(d)
	for {
		if err := check(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}
