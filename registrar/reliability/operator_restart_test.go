package reliability_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/hack/testenv"
)

// Restarting the operator changes nothing: no Secret is regenerated or rewritten (the
// generated password, the published credentials, the nonce key keep their
// resourceVersions), and no Extension or Domain flaps out of Ready or is rewritten.
func TestOperatorRestartRewritesNothing(t *testing.T) {
	ctx := context.Background()
	tn := newTenant(t, 3, 4000, 0)
	// One more Extension with a generated password.
	gen := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "generated"},
		Spec: sipv1.ExtensionSpec{DomainRef: "d", Extension: "4100"}}
	if err := k8s.Create(ctx, gen); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the generated-password extension Ready", wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(gen), gen); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(gen.Status.Conditions, sipv1.ConditionReady) {
			return errStill
		}
		return nil
	})

	watched := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: controllers.GeneratedPasswordSecretName(gen.Name)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.NonceKeySecretName}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.DomainConfigMapName(tn.ns)}},
		&sipv1.Domain{ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "d"}},
		gen.DeepCopy(),
	}
	for _, u := range []string{"4000", "4001", "4002", "4100"} {
		watched = append(watched, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: registrarNS, Name: published.CredentialSecretName(tn.ns, u)}})
	}
	for _, e := range tn.exts {
		watched = append(watched, e.DeepCopy())
	}
	versions := func() (map[string]string, error) {
		out := map[string]string{}
		for _, o := range watched {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return nil, err
			}
			out[fmt.Sprintf("%T %s", o, client.ObjectKeyFromObject(o))] = o.GetResourceVersion()
		}
		return out, nil
	}
	// Let the first reconciles settle: nothing may change for a second (polled, so a
	// change starts the second over at once).
	unchangedSince := func(ref map[string]string, except string) func() error {
		return func() error {
			now, err := versions()
			if err != nil {
				return err
			}
			for k, v := range ref {
				if now[k] != v && k != except {
					return fmt.Errorf("%s changed: resourceVersion %s → %s", k, v, now[k])
				}
			}
			return nil
		}
	}
	var before map[string]string
	eventually(t, "the objects at rest", wait, func() error {
		a, err := versions()
		if err != nil {
			return err
		}
		if err := testenv.Consistently(time.Second, unchangedSince(a, "")); err != nil {
			return err
		}
		before = a
		return nil
	})

	// Poll Ready of everything while the operator restarts.
	var mu sync.Mutex
	var flaps []string
	stopPoll := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(50 * time.Millisecond):
			}
			var exts sipv1.ExtensionList
			var d sipv1.Domain
			if err := k8s.List(ctx, &exts, client.InNamespace(tn.ns)); err != nil {
				continue
			}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: tn.ns, Name: "d"}, &d); err != nil {
				continue
			}
			mu.Lock()
			for i := range exts.Items {
				if exts.Items[i].Name != "probe" && !meta.IsStatusConditionTrue(exts.Items[i].Status.Conditions, sipv1.ConditionReady) {
					flaps = append(flaps, "Extension "+exts.Items[i].Name)
				}
			}
			if !meta.IsStatusConditionTrue(d.Status.Conditions, sipv1.ConditionReady) {
				flaps = append(flaps, "Domain d")
			}
			mu.Unlock()
		}
	}()

	start := time.Now()
	operator.stop()
	var err error
	if operator, err = startOperator(); err != nil {
		t.Fatal(err)
	}
	t.Logf("operator restarted in %s", time.Since(start).Round(time.Millisecond))
	// The new operator is working once it has handled an Extension created after it
	// started; its initial resync of the others is queued before that one.
	probe := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "probe"},
		Spec: sipv1.ExtensionSpec{DomainRef: "d", Extension: "4999"}}
	if err := k8s.Create(ctx, probe); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new operator at work", wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(probe), probe); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(probe.Status.Conditions, sipv1.ConditionReady) {
			return errStill
		}
		return nil
	})
	// The Domain's status counts the new probe Extension: that write is expected.
	// Anything else rewritten shows at once, or in the next two seconds (polled).
	domainKey := fmt.Sprintf("%T %s/d", &sipv1.Domain{}, tn.ns)
	if err := testenv.Consistently(2*time.Second, unchangedSince(before, domainKey)); err != nil {
		t.Errorf("rewritten by the restart: %v", err)
	}
	close(stopPoll)
	<-polled
	mu.Lock()
	defer mu.Unlock()
	if len(flaps) > 0 {
		t.Errorf("not Ready during the restart: %v", flaps)
	}
}
