// Package reliability_test checks what the registrar and the operator do when things
// go wrong: a replica killed with SIGKILL, the API server away, the operator
// restarted, hostile SIP (RFC 4475 torture messages, a password-guessing flood), and
// the security claims of docs/security.md that need a running system (RBAC as
// shipped, response sizes).
//
// TestMain starts a real kube-apiserver and etcd, the shipped RBAC of config/rbac,
// and the operator in this process, running as its own ServiceAccount so that every
// test also proves the operator's RBAC is enough.
package reliability_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/voipbin/registrar-operator/api/scheme"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

const (
	registrarNS = "registrar-system"
	suffix      = "registrar.test"
	// An upper bound, never a delay: after an API-server outage client-go's watches
	// back off up to 30 s (with jitter) before they see anything new.
	wait = 90 * time.Second

	// The identities the shipped RBAC binds, once "system" becomes registrarNS.
	operatorSA  = "system:serviceaccount:" + registrarNS + ":controller-manager"
	registrarSA = "system:serviceaccount:" + registrarNS + ":registrar"
)

var (
	env      *testenv.Env
	adminCfg *rest.Config
	k8s      client.Client
	// operator is the running manager; restartOperator replaces it.
	operator *runningOperator
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := testenv.NeedSIPp(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Quiet by default (Info): a flood logs a line per refused REGISTER at V(1).
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(os.Getenv("RELIABILITY_VERBOSE") != "")))
	// A fixed cert dir: envtest's APIServer.Stop forgets a generated one, and Start
	// would then sign a new serving certificate with a new CA that no running client
	// trusts. With the dir kept, a restart serves the same certificate on the same
	// port against the same etcd, which is what a real API server outage looks like.
	certDir, err := os.MkdirTemp("", "reliability-apiserver-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(certDir) }()
	env, err = testenv.Start(func(e *envtest.Environment) {
		apiserver := e.ControlPlane.GetAPIServer()
		apiserver.CertDir = certDir
		// A graceful kube-apiserver shutdown waits for in-flight requests up to
		// --request-timeout (60 s by default), longer than envtest's 20 s stop timeout:
		// shorten the one and lengthen the other so that the outage test can stop it.
		e.ControlPlaneStopTimeout = 90 * time.Second
		apiserver.Configure().Set("request-timeout", "10s")
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	// The test's own writes (1,000 extensions' worth) must not queue behind a 5 QPS limit.
	adminCfg = rest.CopyConfig(env.Config)
	adminCfg.QPS, adminCfg.Burst = 500, 1000
	if k8s, err = client.New(adminCfg, client.Options{Scheme: scheme.New()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	if err := env.EnsureNamespace(ctx, registrarNS); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := applyShippedRBAC(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if operator, err = startOperator(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	operator.stop()
	if registrarBuild.dir != "" {
		_ = os.RemoveAll(registrarBuild.dir)
	}
	return code
}

// impersonating returns the admin config acting as user: how the tests run a
// component with exactly the rights the shipped RBAC gives it.
func impersonating(user string, groups ...string) *rest.Config {
	c := rest.CopyConfig(adminCfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string{"system:authenticated"}, groups...)}
	return c
}

func serviceAccountGroups() []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + registrarNS}
}

// runningOperator is the operator's manager in this process.
type runningOperator struct {
	cancel context.CancelFunc
	done   <-chan error
}

func (o *runningOperator) stop() {
	o.cancel()
	<-o.done
}

// startOperator runs the manager as the operator's ServiceAccount, without leader
// election (one instance) and with the registrar Deployment managed, as in production.
func startOperator() (*runningOperator, error) {
	opts := controllers.Options{DomainSuffix: suffix, RegistrarNamespace: registrarNS, Fleet: controllers.DefaultFleetOptions()}
	cfg := impersonating(operatorSA, serviceAccountGroups()...)
	cfg.QPS, cfg.Burst = 200, 400
	asOperator := &testenv.Env{Environment: env.Environment, Config: cfg, Client: env.Client}
	ctx, cancel := context.WithCancel(context.Background())
	done, err := asOperator.StartOperator(ctx, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	return &runningOperator{cancel: cancel, done: done}, nil
}

// applyShippedRBAC creates the roles of config/rbac that the operator and the
// registrar run with, in registrarNS instead of kustomize's "system".
func applyShippedRBAC(ctx context.Context) error {
	files := []string{
		"role.yaml", "role_binding.yaml",
		"registrar_role.yaml", "registrar_cluster_role.yaml",
		"extension_editor_role.yaml", "domain_editor_role.yaml",
	}
	for _, f := range files {
		objs, err := readManifests(filepath.Join(testenv.Root(), "config", "rbac", f))
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.GetNamespace() == "system" || (o.GetKind() == "Role" && o.GetNamespace() == "") {
				o.SetNamespace(registrarNS)
			}
			if o.GetKind() == "RoleBinding" || o.GetKind() == "ClusterRoleBinding" {
				subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
				for _, s := range subjects {
					if sm, ok := s.(map[string]any); ok && sm["namespace"] == "system" {
						sm["namespace"] = registrarNS
					}
				}
				_ = unstructured.SetNestedSlice(o.Object, subjects, "subjects")
			}
			if err := k8s.Create(ctx, o); err != nil {
				return fmt.Errorf("while applying %s %s from %s: %w", o.GetKind(), o.GetName(), f, err)
			}
		}
	}
	return nil
}

func readManifests(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, doc := range splitYAML(data) {
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &o.Object); err != nil {
			return nil, fmt.Errorf("while reading %s: %w", path, err)
		}
		if len(o.Object) == 0 {
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i+4 <= len(data); i++ {
		if (i == 0 || data[i-1] == '\n') && string(data[i:i+3]) == "---" && (i+3 == len(data) || data[i+3] == '\n') {
			docs = append(docs, data[start:i])
			start = i + 3
		}
	}
	return append(docs, data[start:])
}

// bindRole binds a ClusterRole to user within ns, as a cluster admin grants a tenant.
func bindRole(ctx context.Context, ns, role, user string) error {
	rb := &rbacv1.RoleBinding{}
	rb.Namespace, rb.Name = ns, role+"-"+user
	rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}
	rb.Subjects = []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	return k8s.Create(ctx, rb)
}
