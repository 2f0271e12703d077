package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/api/scheme"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
)

// operatorCache starts a cache configured as the operator's (CacheOptions) and waits
// for its Secrets and Extensions.
func operatorCache(t *testing.T) cache.Cache {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o := controllers.CacheOptions(opts)
	o.Scheme = scheme.New()
	c, err := cache.New(env.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	for _, obj := range []client.Object{&corev1.Secret{}, &sipv1.Extension{}} {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the cache did not sync")
	}
	return c
}

// TestOperatorCachesNoPasswordOrCredentialData: the credential Secret the operator
// publishes for each Extension is not in its cache at all (at 100,000 Extensions the
// data of the two Secrets it makes was a fifth of the operator's memory, and the
// credentials' metadata, with the cache's store and index, another 66 MB or more); a watch of
// its own keeps what a reconcile reads, and a credential edited or deleted by hand is
// restored all the same (TestCredentialEditedOrDeletedByHandIsRestored).
func TestOperatorCachesNoPasswordOrCredentialData(t *testing.T) {
	e, customer, realm := readyExtension(t, "nodata", "dora", "1004")
	credentialFor(t, customer, "1004", realm, generatedPassword(t, e.Namespace, e.Name))
	c := operatorCache(t)
	key := client.ObjectKey{Namespace: registrarNS, Name: published.CredentialSecretName(customer, "1004")}
	if err := c.Get(context.Background(), key, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("the operator's cache holds the credential Secret %s (err %v)", key, err)
	}
}

// TestCredentialEditedOrDeletedByHandIsRestored: the registrars must authenticate with
// the HA1 of the Extension's password whatever someone does to the credential Secret,
// although the operator keeps no copy of its data.
func TestCredentialEditedOrDeletedByHandIsRestored(t *testing.T) {
	ctx := context.Background()
	e, customer, realm := readyExtension(t, "hand", "hank", "1005")
	password := generatedPassword(t, e.Namespace, e.Name)
	cred := credentialFor(t, customer, "1005", realm, password)

	cred.Data[published.KeyHA1MD5] = []byte("00000000000000000000000000000000")
	if err := k8s.Update(ctx, cred); err != nil {
		t.Fatal(err)
	}
	credentialFor(t, customer, "1005", realm, password)

	// The annotation edited to match the new data: the operator cannot be fooled into
	// taking the data as its own.
	cred = credentialFor(t, customer, "1005", realm, password)
	cred.Data[published.KeyHA1SHA256] = []byte("tampered")
	cred.Annotations = nil
	if err := k8s.Update(ctx, cred); err != nil {
		t.Fatal(err)
	}
	credentialFor(t, customer, "1005", realm, password)

	if err := k8s.Delete(ctx, cred); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted credential published again", func() error {
		s := credential(customer, "1005")
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		if s.UID == cred.UID {
			return fmt.Errorf("still the deleted one")
		}
		return nil
	})
	credentialFor(t, customer, "1005", realm, password)
}

// TestGeneratedPasswordChangedOrEmptiedByHandIsPublished: a password set by hand in the
// generated Secret is the one the registrars check; an emptied Secret gets a new one.
func TestGeneratedPasswordChangedOrEmptiedByHandIsPublished(t *testing.T) {
	ctx := context.Background()
	e, customer, realm := readyExtension(t, "setpw", "gail", "1006")
	ns := e.Namespace
	credentialFor(t, customer, "1006", realm, generatedPassword(t, ns, e.Name))

	pw := &corev1.Secret{}
	key := client.ObjectKey{Namespace: ns, Name: controllers.GeneratedPasswordSecretName(e.Name)}
	if err := k8s.Get(ctx, key, pw); err != nil {
		t.Fatal(err)
	}
	pw.Data[controllers.GeneratedPasswordKey] = []byte("chosen-By-Hand-7")
	if err := k8s.Update(ctx, pw); err != nil {
		t.Fatal(err)
	}
	credentialFor(t, customer, "1006", realm, "chosen-By-Hand-7")

	pw.Data = nil
	if err := k8s.Update(ctx, pw); err != nil {
		t.Fatal(err)
	}
	var refilled string
	eventually(t, "the emptied password Secret refilled", func() error {
		refilled = generatedPassword(t, ns, e.Name)
		if refilled == "" {
			return fmt.Errorf("still empty")
		}
		return nil
	})
	credentialFor(t, customer, "1006", realm, refilled)
}

func generatedPassword(t *testing.T, ns, extension string) string {
	t.Helper()
	pw := &corev1.Secret{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: controllers.GeneratedPasswordSecretName(extension)}, pw); err != nil {
		t.Fatal(err)
	}
	return string(pw.Data[controllers.GeneratedPasswordKey])
}

// TestPrunedBindingsKeepWhatTheRegistrarWrote: the operator's cache keeps only the
// leases of the bindings, yet pruning an expired one leaves the others as the registrar
// wrote them, shown by `kubectl get extensions -o wide` (Transport), counted by the
// Domain.
func TestPrunedBindingsKeepWhatTheRegistrarWrote(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	d := domain(ns, "d", "keep-"+ns)
	e := extension(ns, "kim", "d", "6002")
	mustCreate(t, d, e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)

	now := time.Now()
	live := sipv1.Binding{URI: "sip:6002@192.0.2.2:5061;transport=tls", Registrar: "registrar-0", Source: "192.0.2.2:40000",
		Transport: "TLS", UserAgent: "Phone/1.0", Expires: 3600, CallID: "c1", CSeq: 7,
		ExpiresAt: metav1.NewTime(now.Add(time.Hour)), RegisteredAt: metav1.NewTime(now.Truncate(time.Second))}
	e.Status.Bindings = []sipv1.Binding{
		live,
		{URI: "sip:6002@192.0.2.1:5060", Registrar: "gone-replica", Transport: "UDP", ExpiresAt: metav1.NewTime(now.Add(-time.Minute))},
	}
	if err := k8s.Status().Update(ctx, e); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the expired binding pruned, the live one kept whole", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(e), e); err != nil {
			return err
		}
		if len(e.Status.Bindings) != 1 || e.Status.Contacts != 1 {
			return fmt.Errorf("bindings %d contacts %d", len(e.Status.Bindings), e.Status.Contacts)
		}
		return nil
	})
	got := e.Status.Bindings[0]
	if got.URI != live.URI || got.Registrar != live.Registrar || got.Source != live.Source || got.Transport != live.Transport ||
		got.UserAgent != live.UserAgent || got.Expires != live.Expires || got.CallID != live.CallID || got.CSeq != live.CSeq ||
		!got.RegisteredAt.Equal(&live.RegisteredAt) {
		t.Errorf("the kept binding changed: %+v, was %+v", got, live)
	}
	if col := printerColumn(t, e, "Transport"); col != "TLS" {
		t.Errorf("kubectl get extensions -o wide shows Transport %q", col)
	}
	eventually(t, "the domain counts a registered extension", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return err
		}
		if d.Status.RegisteredExtensions != 1 {
			return fmt.Errorf("registered %d", d.Status.RegisteredExtensions)
		}
		return nil
	})
}

// printerColumn returns an Extension's column as `kubectl get extensions -o wide`
// shows it: the API server's Table rendering of the CRD's printer columns.
func printerColumn(t *testing.T, e *sipv1.Extension, column string) string {
	t.Helper()
	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("%s/apis/%s/namespaces/%s/extensions/%s", strings.TrimSuffix(env.Config.Host, "/"), sipv1.GroupVersion, e.Namespace, e.Name)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v: %s", url, resp.Status, err, body)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatalf("while decoding the table: %v", err)
	}
	for i, c := range table.ColumnDefinitions {
		if c.Name == column && len(table.Rows) == 1 && i < len(table.Rows[0].Cells) {
			return fmt.Sprint(table.Rows[0].Cells[i])
		}
	}
	t.Fatalf("no column %q in %d rows of %v", column, len(table.Rows), table.ColumnDefinitions)
	return ""
}

// TestReadyEventOnlyWhenAnExtensionRecovers: a new Extension's first Ready records no
// event (a bulk load of 100,000 would hold as many in the operator's memory); one that
// waited for its Domain does.
func TestReadyEventOnlyWhenAnExtensionRecovers(t *testing.T) {
	ns := newNamespace(t)
	waited := extension(ns, "wes", "late", "1007")
	mustCreate(t, waited)
	readyIs(t, waited, metav1.ConditionFalse, sipv1.ReasonDomainNotFound)
	fresh := extension(ns, "fay", "late", "1008")
	mustCreate(t, domain(ns, "late", "recover-"+ns))
	readyIs(t, waited, metav1.ConditionTrue, sipv1.ReasonReady)
	mustCreate(t, fresh)
	readyIs(t, fresh, metav1.ConditionTrue, sipv1.ReasonReady)
	eventually(t, "a Ready event for the Extension that waited", func() error {
		if n := readyEvents(t, ns, waited.Name); n != 1 {
			return fmt.Errorf("%d Ready events", n)
		}
		return nil
	})
	if n := readyEvents(t, ns, fresh.Name); n != 0 {
		t.Errorf("%d Ready events for a new Extension", n)
	}
}

func readyEvents(t *testing.T, ns, name string) int {
	t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Kind == "Extension" && e.Regarding.Name == name && e.Reason == sipv1.ReasonReady {
			n++
		}
	}
	return n
}

// TestExtensionAnnotationsSurviveTheOperator: the cache holds Extensions without their
// annotations (kubectl apply's copy of the object is the largest part of one), yet
// adding and removing the finalizer leaves them on the Extension.
func TestExtensionAnnotationsSurviveTheOperator(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	e := extension(ns, "ann", "d", "1009")
	applied := `{"apiVersion":"sip.voipbin.net/v1alpha1","kind":"Extension","metadata":{"name":"ann"},"spec":{"extension":"1009"}}`
	e.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": applied}
	mustCreate(t, domain(ns, "d", "ann-"+ns), e)
	readyIs(t, e, metav1.ConditionTrue, sipv1.ReasonReady)
	if !slices.Contains(e.Finalizers, sipv1.ExtensionFinalizer) {
		t.Fatalf("finalizers %v", e.Finalizers)
	}
	if e.Annotations["kubectl.kubernetes.io/last-applied-configuration"] != applied {
		t.Errorf("the operator erased the Extension's annotations: %v", e.Annotations)
	}
	c := operatorCache(t)
	cached := &sipv1.Extension{}
	eventually(t, "the Extension in the operator's cache", func() error { return c.Get(ctx, client.ObjectKeyFromObject(e), cached) })
	if len(cached.Annotations) > 0 {
		t.Errorf("the operator's cache holds the Extension's annotations: %v", cached.Annotations)
	}
	if err := k8s.Delete(ctx, e); err != nil {
		t.Fatal(err)
	}
	gone(t, e)
}
