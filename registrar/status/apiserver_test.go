package status

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/unstructuredscheme"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// The Writer's unit tests run against controller-runtime's fake client, made to
// merge server-side applies as the API server does for the Extension CRD: its type
// converter is built from the generated CRD, so status.bindings is a list keyed by
// uri and each replica's field manager owns its own entries.

const (
	testNamespace = "tenant-a"
	testAOR       = "1001@acme.registrar.voipbin.net"
)

var testExtension = types.NamespacedName{Namespace: testNamespace, Name: "acme-1001"}

// patchLog records the status patches the fake API server received.
type patchLog struct {
	mu      sync.Mutex
	applies int
	json    int
	// fail, when set, answers a status patch with an error instead of applying it.
	fail func(patch client.Patch) error
}

func (l *patchLog) counts() (applies, jsonPatches int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applies, l.json
}

func (l *patchLog) failWith(f func(patch client.Patch) error) {
	l.mu.Lock()
	l.fail = f
	l.mu.Unlock()
}

// fakeAPIServer holds the Extension under testExtension, with the given bindings
// already in its status. Like the API server it refuses a status apply whose result
// has a binding without a field the CRD requires: the fake client would store it.
func fakeAPIServer(t *testing.T, bindings ...sipv1.Binding) (client.Client, *patchLog) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := sipv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	crd := extensionCRD(t)
	tc := extensionTypeConverter(t, crd)
	required := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"].Properties["bindings"].Items.Schema.Required
	gvk := sipv1.GroupVersion.WithKind("Extension")
	// The merge of a custom resource, on unstructured objects: typed, a field the
	// merge leaves out would come back as "" or null.
	fields, err := managedfields.NewDefaultCRDFieldManager(tc, oneVersion{}, unstructuredscheme.NewUnstructuredDefaulter(),
		unstructuredscheme.NewUnstructuredCreator(), gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ext := &sipv1.Extension{
		ObjectMeta: metav1.ObjectMeta{Namespace: testExtension.Namespace, Name: testExtension.Name},
		Spec:       sipv1.ExtensionSpec{DomainRef: "acme", Extension: "1001"},
		Status:     sipv1.ExtensionStatus{AddressOfRecord: testAOR, Bindings: bindings},
	}
	log := &patchLog{}
	c := fake.NewClientBuilder().
		WithScheme(scheme).
		WithTypeConverters(tc).
		WithStatusSubresource(&sipv1.Extension{}).
		WithObjects(ext).
		WithReturnManagedFields().
		WithInterceptorFuncs(interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
				log.mu.Lock()
				fail := log.fail
				switch patch.Type() {
				case types.ApplyPatchType:
					log.applies++
				case types.JSONPatchType:
					log.json++
				}
				log.mu.Unlock()
				if fail != nil {
					if err := fail(patch); err != nil {
						return err
					}
				}
				if patch.Type() == types.ApplyPatchType {
					if err := validateApply(ctx, c, fields, required, obj, patch, opts); err != nil {
						return err
					}
				}
				return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
			},
		}).
		Build()
	return c, log
}

// oneVersion converts nothing: the Extension has a single version, and the merge
// keeps it unstructured.
type oneVersion struct{}

func (oneVersion) Convert(_, _, _ any) error { return errors.New("the Extension has a single version") }

func (oneVersion) ConvertToVersion(in runtime.Object, _ runtime.GroupVersioner) (runtime.Object, error) {
	return in, nil
}

func (oneVersion) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

func extensionCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	raw, err := os.ReadFile("../../config/crd/bases/sip.voipbin.net_extensions.yaml")
	if err != nil {
		t.Fatalf("while reading the Extension CRD: %v", err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatalf("while decoding the Extension CRD: %v", err)
	}
	return &crd
}

// extensionTypeConverter merges applies by the Extension CRD's schema, built the way
// the API server builds it for a custom resource.
func extensionTypeConverter(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) managedfields.TypeConverter {
	t.Helper()
	spec, err := builder.BuildOpenAPIV3(crd, sipv1.GroupVersion.Version,
		builder.Options{V2: false, StripValueValidation: true, StripNullable: true})
	if err != nil {
		t.Fatalf("while building the Extension schema: %v", err)
	}
	tc, err := managedfields.NewTypeConverter(spec.Components.Schemas, false)
	if err != nil {
		t.Fatalf("while building the Extension type converter: %v", err)
	}
	return tc
}

// validateApply merges patch into the stored Extension as the fake will, and refuses
// it, as the API server's schema validation does, when a binding would lack a
// required field.
func validateApply(ctx context.Context, c client.Client, fields *managedfields.FieldManager, required []string,
	obj client.Object, patch client.Patch, opts []client.SubResourcePatchOption) error {
	// Unstructured, so that a field the merge leaves out stays out (a typed
	// Extension would serialise it as "" or null).
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(sipv1.GroupVersion.WithKind("Extension"))
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		return err
	}
	body, err := patch.Data(obj)
	if err != nil {
		return err
	}
	applied := &unstructured.Unstructured{}
	if err := applied.UnmarshalJSON(body); err != nil {
		return err
	}
	po := &client.SubResourcePatchOptions{}
	po.ApplyOptions(opts)
	force := po.Force != nil && *po.Force
	merged, err := fields.Apply(live, applied, po.FieldManager, force)
	if err != nil {
		return err
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(merged)
	if err != nil {
		return err
	}
	bindings, _, _ := unstructured.NestedSlice(u, "status", "bindings")
	var errs field.ErrorList
	for i, b := range bindings {
		entry, _ := b.(map[string]any)
		for _, name := range required {
			if _, ok := entry[name]; !ok {
				errs = append(errs, field.Required(field.NewPath("status", "bindings").Index(i).Child(name), ""))
			}
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(sipv1.GroupVersion.WithKind("Extension").GroupKind(), obj.GetName(), errs)
	}
	return nil
}

// testLease is the Lease of the tests' writers.
const testLease = 15 * time.Minute

// newTestWriter is replica's Writer over a table of its own, which it returns too,
// writing testAOR into testExtension.
func newTestWriter(c client.Client, replica string) (*Writer, *location.Table) {
	changes := NewChanges()
	table := location.New(0, changes.Mark)
	w := NewWriter(Config{
		Client:   c,
		Replica:  replica,
		Lease:    testLease,
		Interval: time.Hour, // the tests flush by hand
		Table:    table,
		Changes:  changes,
		Resolve: func(aor string) (types.NamespacedName, bool) {
			return testExtension, aor == testAOR
		},
	})
	return w, table
}

// policy is a Domain's default registration policy.
var policy = location.Policy{MinExpires: 60, DefaultExpires: 3600, MaxExpires: 7200, MaxContacts: 3}

// register has device uri register at testAOR at now (expires 0 de-registers it).
func register(t *testing.T, table *location.Table, uri, callID string, cseq uint32, expires int64, now time.Time) {
	t.Helper()
	_, err := table.Register(location.Request{
		AOR: testAOR, CallID: callID, CSeq: cseq, Expires: expires,
		Contacts:  []location.ContactUpdate{{URI: uri, Expires: -1}},
		Source:    "192.0.2.10:5060",
		Transport: "UDP",
		UserAgent: "test-phone",
		Now:       now,
	}, policy)
	if err != nil {
		t.Fatalf("REGISTER %s: %v", uri, err)
	}
}

// statusOf reads the Extension back from the fake API server.
func statusOf(t *testing.T, c client.Client) *sipv1.Extension {
	t.Helper()
	var ext sipv1.Extension
	if err := c.Get(context.Background(), testExtension, &ext); err != nil {
		t.Fatalf("while reading the Extension: %v", err)
	}
	return &ext
}

// bindingOf returns status's entry for uri.
func bindingOf(ext *sipv1.Extension, uri string) (sipv1.Binding, bool) {
	for _, b := range ext.Status.Bindings {
		if b.URI == uri {
			return b, true
		}
	}
	return sipv1.Binding{}, false
}

// ownsField reports whether field manager owns the field named key (such as
// "f:registrar") of status's entry for uri.
func ownsField(t *testing.T, ext *sipv1.Extension, manager, uri, key string) bool {
	t.Helper()
	for _, mf := range ext.ManagedFields {
		if mf.Manager != manager || mf.FieldsV1 == nil {
			continue
		}
		var owned struct {
			Status struct {
				Bindings map[string]map[string]json.RawMessage `json:"f:bindings"`
			} `json:"f:status"`
		}
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &owned); err != nil {
			t.Fatalf("while reading the managed fields of %s: %v", manager, err)
		}
		for entry, fields := range owned.Status.Bindings {
			var k struct {
				URI string `json:"uri"`
			}
			if !strings.HasPrefix(entry, "k:") || json.Unmarshal([]byte(entry[2:]), &k) != nil || k.URI != uri {
				continue
			}
			if _, ok := fields[key]; ok {
				return true
			}
		}
	}
	return false
}
