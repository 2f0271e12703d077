package reliability_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/api/scheme"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// access is one row of an RBAC matrix: may who do verb on resource in ns?
type access struct {
	verb, group, resource, subresource, ns string
	allowed                                bool
}

func (a access) String() string {
	r := a.resource
	if a.subresource != "" {
		r += "/" + a.subresource
	}
	if a.group != "" {
		r += "." + a.group
	}
	where := "cluster-wide"
	if a.ns != "" {
		where = "in " + a.ns
	}
	return fmt.Sprintf("%s %s %s", a.verb, r, where)
}

// checkAccess asks the API server's authorizer, with the shipped RBAC loaded,
// whether user may do each row, and fails on every row where the answer differs.
func checkAccess(t *testing.T, user string, groups []string, rows []access) {
	t.Helper()
	for _, a := range rows {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: user, Groups: append([]string{"system:authenticated"}, groups...),
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: a.ns, Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource,
			},
		}}
		if err := k8s.Create(context.Background(), sar); err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != a.allowed {
			t.Errorf("%s may %s: %v, want %v", user, a, sar.Status.Allowed, a.allowed)
		}
	}
}

const sipGroup = "sip.voipbin.net"

// The registrar's RBAC (config/rbac/registrar_*.yaml) lets it read what the operator
// publishes in its namespace and write Extension status, and nothing else: it cannot
// read a tenant's password Secret, change an Extension's spec, or write any Secret.
// That it is also enough is shown by every test here: all replicas run as this
// ServiceAccount.
func TestRegistrarRBACIsTheLeastThatWorks(t *testing.T) {
	tenantNS := newNamespace(t, "rbac")
	checkAccess(t, registrarSA, serviceAccountGroups(), []access{
		{"list", "", "secrets", "", registrarNS, true},
		{"watch", "", "configmaps", "", registrarNS, true},
		{"list", sipGroup, "extensions", "", "", true},
		{"patch", sipGroup, "extensions", "status", tenantNS, true},

		{"get", "", "secrets", "", tenantNS, false},
		{"list", "", "secrets", "", "", false},
		{"create", "", "secrets", "", registrarNS, false},
		{"update", "", "secrets", "", registrarNS, false},
		{"delete", "", "secrets", "", registrarNS, false},
		{"update", "", "configmaps", "", registrarNS, false},
		{"update", sipGroup, "extensions", "", tenantNS, false},
		{"patch", sipGroup, "extensions", "", tenantNS, false},
		{"delete", sipGroup, "extensions", "", tenantNS, false},
		{"get", sipGroup, "domains", "", tenantNS, false},
		{"patch", sipGroup, "domains", "status", tenantNS, false},
		{"create", "", "pods", "", registrarNS, false},
		{"create", "rbac.authorization.k8s.io", "rolebindings", "", registrarNS, false},
	})

	// And for real: a tenant's password Secret is out of its reach.
	rc, err := client.New(impersonating(registrarSA, serviceAccountGroups()...), client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: "pw"}, StringData: map[string]string{"password": "x"}}
	if err := k8s.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := rc.Get(context.Background(), client.ObjectKeyFromObject(s), &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("the registrar read a tenant's Secret: %v", err)
	}
}

// The operator's RBAC (config/rbac/role.yaml): cluster-wide only Domains, Extensions
// and Secrets (a password Secret lives beside its Extension, in any namespace); the
// Deployment, Service, PodDisruptionBudget and published ConfigMaps only in the
// registrar namespace; no RBAC, no pods, no namespaces.
func TestOperatorRBACIsTheLeastThatWorks(t *testing.T) {
	tenantNS := newNamespace(t, "rbac")
	checkAccess(t, operatorSA, serviceAccountGroups(), []access{
		{"create", "", "secrets", "", tenantNS, true},
		{"watch", "", "secrets", "", "", true},
		{"update", sipGroup, "extensions", "", tenantNS, true},
		{"patch", sipGroup, "extensions", "status", tenantNS, true},
		{"create", "", "configmaps", "", registrarNS, true},
		{"patch", "apps", "deployments", "", registrarNS, true},
		{"patch", "", "services", "", registrarNS, true},
		{"create", "policy", "poddisruptionbudgets", "", registrarNS, true},
		{"patch", "policy", "poddisruptionbudgets", "", registrarNS, true},
		{"delete", "policy", "poddisruptionbudgets", "", registrarNS, true},
		// Watched, so that one deleted or edited by hand comes back at once.
		{"list", "policy", "poddisruptionbudgets", "", registrarNS, true},
		{"watch", "policy", "poddisruptionbudgets", "", registrarNS, true},
		// The fleet of an earlier name goes (pruneRenamed), in the registrar namespace only.
		{"delete", "apps", "deployments", "", registrarNS, true},
		{"delete", "", "services", "", registrarNS, true},

		{"create", sipGroup, "extensions", "", tenantNS, false},
		{"delete", sipGroup, "domains", "", tenantNS, false},
		{"create", "", "configmaps", "", tenantNS, false},
		{"create", "apps", "deployments", "", tenantNS, false},
		{"delete", "apps", "deployments", "", tenantNS, false},
		{"delete", "", "services", "", tenantNS, false},
		{"create", "policy", "poddisruptionbudgets", "", tenantNS, false},
		{"list", "policy", "poddisruptionbudgets", "", tenantNS, false},
		{"create", "", "services", "", tenantNS, false},
		{"create", "", "pods", "", registrarNS, false},
		{"create", "", "serviceaccounts", "", registrarNS, false},
		{"delete", "", "namespaces", "", "", false},
		{"create", "rbac.authorization.k8s.io", "rolebindings", "", tenantNS, false},
		{"create", "rbac.authorization.k8s.io", "clusterroles", "", "", false},
	})
	// For real: the operator, running as its ServiceAccount, made the fleet's budget.
	eventually(t, "the registrar's PodDisruptionBudget", wait, func() error {
		return k8s.Get(context.Background(), types.NamespacedName{Namespace: registrarNS, Name: controllers.DefaultFleetOptions().Name}, &policyv1.PodDisruptionBudget{})
	})
}

// A tenant given the shipped editor roles (and Secrets) in its namespace manages its
// Domains and Extensions there and nowhere else: it cannot read the credentials in
// the registrar namespace or another tenant's anything, and cannot write status.
func TestTenantCannotReachAnotherTenantOrTheRegistrar(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := newNamespace(t, "tenant-a"), newNamespace(t, "tenant-b")
	const user = "alice@tenant-a"
	// What a namespace admin typically has besides the shipped editor roles: Secrets.
	secrets := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "reliability-tenant-secrets"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
	}}}
	if err := k8s.Create(ctx, secrets); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, role := range []string{"extension-editor-role", "domain-editor-role", secrets.Name} {
		if err := bindRole(ctx, nsA, role, user); err != nil {
			t.Fatal(err)
		}
	}
	checkAccess(t, user, nil, []access{
		{"create", sipGroup, "extensions", "", nsA, true},
		{"create", sipGroup, "domains", "", nsA, true},
		{"get", "", "secrets", "", nsA, true},
		{"get", sipGroup, "extensions", "status", nsA, true},

		{"patch", sipGroup, "extensions", "status", nsA, false},
		{"update", sipGroup, "domains", "status", nsA, false},
		{"get", "", "secrets", "", registrarNS, false},
		{"list", "", "configmaps", "", registrarNS, false},
		{"get", "", "secrets", "", nsB, false},
		{"get", sipGroup, "extensions", "", nsB, false},
		{"create", sipGroup, "extensions", "", nsB, false},
	})

	// For real: the tenant builds a working extension, then tries to reach further.
	tc, err := client.New(impersonating(user), client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	d := &sipv1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "d"}, Spec: sipv1.DomainSpec{CustomerID: nsA}}
	e := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "e1"}, Spec: sipv1.ExtensionSpec{DomainRef: "d", Extension: "1"}}
	for _, o := range []client.Object{d, e} {
		if err := tc.Create(ctx, o); err != nil {
			t.Fatalf("tenant creating %T: %v", o, err)
		}
	}
	eventually(t, "the tenant's extension Ready", wait, func() error {
		if err := tc.Get(ctx, client.ObjectKeyFromObject(e), e); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(e.Status.Conditions, sipv1.ConditionReady) {
			return errStill
		}
		return nil
	})
	cred := types.NamespacedName{Namespace: registrarNS, Name: published.CredentialSecretName(nsA, "1")}
	if err := tc.Get(ctx, cred, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("the tenant read its published credential in the registrar namespace: %v", err)
	}
	// Status belongs to the operator and the registrars.
	patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"bindings":[{"uri":"sip:evil@192.0.2.1","registrar":"x"}]}}`))
	if err := tc.Status().Patch(ctx, e, patch); !apierrors.IsForbidden(err) {
		t.Errorf("the tenant wrote its extension's status: %v", err)
	}
	// A password Secret can only be named in the Extension's own namespace: there is no
	// namespace field, and one sent anyway is dropped, not followed.
	secretB := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "victim"}, StringData: map[string]string{"password": "b-secret"}}
	if err := k8s.Create(ctx, secretB); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": sipv1.GroupVersion.String(), "kind": "Extension",
		"metadata": map[string]any{"namespace": nsA, "name": "e2"},
		"spec": map[string]any{"domainRef": "d", "extension": "2",
			"passwordSecretRef": map[string]any{"name": "victim", "key": "password", "namespace": nsB}},
	}}
	if err := tc.Create(ctx, u); err != nil {
		t.Fatalf("tenant creating an extension that names another namespace: %v", err)
	}
	e2 := &sipv1.Extension{}
	eventually(t, "the cross-namespace reference refused", wait, func() error {
		if err := tc.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "e2"}, e2); err != nil {
			return err
		}
		c := meta.FindStatusCondition(e2.Status.Conditions, sipv1.ConditionReady)
		if c == nil || c.Reason != sipv1.ReasonPasswordSecretNotFound {
			return fmt.Errorf("ready %+v", c)
		}
		return nil
	})
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: registrarNS, Name: published.CredentialSecretName(nsA, "2")}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("a credential was published from another namespace's Secret: %v", err)
	}
}

// ---- amplification ----

// Sizes on the wire of what an unverified source can make the registrar send: an
// attacker who forges its source address gets the answer sent to its victim, so an
// answer much larger than the request would amplify. Measured, logged, and bounded:
// anything answered before authentication is at most three times the request (the
// 407 with two challenges, ×2.6 for the smallest REGISTER), and the only answer near
// the 1300-byte cap (a 200 listing bindings) needs a valid password and a fresh nc.
func TestResponsesAmplifyLittle(t *testing.T) {
	tn := newTenant(t, 1, 1001, 20)
	cfg := replicaConfig("replica-amp", "127.0.0.1")
	cfg.BySource = throttle.Config{MaxFailures: 3, Window: time.Minute, BlockFor: time.Minute}
	r, _ := startReplica(t, cfg)
	aor := tn.aor("1001")
	waitKnows(t, r, aor)
	udp, _ := r.Addresses()
	type row struct {
		what        string
		sent, recvd int
		code        int
	}
	var rows []row
	// The smallest REGISTER that reaches the challenge: only the mandatory headers,
	// short values.
	attacker, err := net.ListenPacket("udp", "127.0.0.6:0")
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	tiny := func(i int, auth string) []byte {
		local := attacker.LocalAddr().String()
		return []byte(fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%d\r\n"+
			"From: <sip:1001@%s>;tag=%d\r\nTo: <sip:1001@%s>\r\nCall-ID: %d\r\nCSeq: 1 REGISTER\r\n%s\r\n",
			tn.domain, local, i, tn.domain, i, tn.domain, i, auth))
	}
	exchange := func(msg []byte) (int, int) {
		addr, _ := net.ResolveUDPAddr("udp", udp)
		if _, err := attacker.WriteTo(msg, addr); err != nil {
			t.Fatal(err)
		}
		_ = attacker.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 65535)
		n, _, err := attacker.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		code := 0
		_, _ = fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code)
		return n, code
	}
	req := tiny(1, "")
	n, code := exchange(req)
	rows = append(rows, row{"REGISTER without credentials → challenge (MD5)", len(req), n, code})
	var d sipv1.Domain
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: tn.ns, Name: "d"}, &d); err != nil {
		t.Fatal(err)
	}
	// The largest challenge: both algorithms offered, for an Extension that lists both
	// (one without a list of its own gets the Domain's preferred one alone).
	both := []sipv1.DigestAlgorithm{sipv1.DigestSHA256, sipv1.DigestMD5}
	d.Spec.Authentication.Algorithms = both
	if err := k8s.Update(context.Background(), &d); err != nil {
		t.Fatal(err)
	}
	var e sipv1.Extension
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: tn.ns, Name: "e1001"}, &e); err != nil {
		t.Fatal(err)
	}
	e.Spec.Authentication = &sipv1.ExtensionAuthentication{Algorithms: both}
	if err := k8s.Update(context.Background(), &e); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the extension is offered SHA-256 and MD5", wait, func() error {
		p := newUDPPhone(t, udp, "127.0.0.1", "1001", tn.domain, "x")
		defer p.Close()
		res, err := p.Register("", 0, 60)
		if err != nil {
			return err
		}
		if len(res.GetHeaders("Proxy-Authenticate")) != 2 {
			return errStill
		}
		return nil
	})

	req = tiny(2, "")
	n, code = exchange(req)
	rows = append(rows, row{"REGISTER without credentials → challenge (SHA-256 + MD5, the extension lists both)", len(req), n, code})
	// Wrong credentials: 403, then the throttle's 403 with Retry-After.
	probe := newUDPPhone(t, udp, "127.0.0.1", "1001", tn.domain, "wrong")
	defer probe.Close()
	res, err := probe.Register("", 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	nonce, _ := siptest.Nonce(res)
	for i := range 4 {
		answer, err := probe.Authorization(sip.REGISTER, "sip:"+tn.domain, nonce, i+1)
		if err != nil {
			t.Fatal(err)
		}
		auth := "Proxy-Authorization: " + answer + "\r\n"
		req = tiny(10+i, auth)
		n, code = exchange(req)
		what := "REGISTER with a wrong password → 403"
		if i == 3 {
			what = "REGISTER from a throttled source → 403 + Retry-After"
		}
		if i == 0 || i == 3 {
			rows = append(rows, row{what, len(req), n, code})
		}
	}
	// The largest answer there is: a 200 that lists 20 bindings, cut at 1300 bytes.
	for range 20 { // a new contact each time
		device := newUDPPhone(t, udp, "127.0.0.1", "1001", tn.domain, tn.passwords["1001"])
		if _, _, err := device.Authenticated(3600); err != nil {
			t.Fatal(err)
		}
		device.Close()
	}
	owner := newUDPPhone(t, udp, "127.0.0.1", "1001", tn.domain, tn.passwords["1001"])
	res, err = owner.Query("", 0)
	if err != nil {
		t.Fatal(err)
	}
	nonce, _ = siptest.Nonce(res)
	res, err = owner.Query(nonce, 1)
	if err != nil {
		t.Fatal(err)
	}
	rows = append(rows, row{fmt.Sprintf("authenticated query → 200 listing %d of 20 bindings", contactCount(res)), owner.LastSent, owner.LastReceived, res.StatusCode})

	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n  %-62s %4d → %4d bytes (%d), ×%.2f", r.what, r.sent, r.recvd, r.code, float64(r.recvd)/float64(r.sent))
	}
	t.Logf("response sizes over UDP:%s", b.String())
	for _, r := range rows[:len(rows)-1] {
		if r.recvd > 3*r.sent {
			t.Errorf("%s: %d bytes answered with %d", r.what, r.sent, r.recvd)
		}
	}
	if last := rows[len(rows)-1]; last.code != 200 || last.recvd > 1300 {
		t.Errorf("query: %d, %d bytes", last.code, last.recvd)
	}
}
