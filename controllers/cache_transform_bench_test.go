package controllers

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// wireObjects are what the API server sends for Extension i once it is Ready: the
// Extension (JSON) and its generated password and published credential Secrets
// (protobuf), each with its own name and UID, as a watch decodes them.
func wireObjects(b *testing.B, i int) (ext []byte, password, cred []byte) {
	name, number := fmt.Sprintf("ext-%06d", i), fmt.Sprintf("%d", 100000+i)
	uid := func(kind int) types.UID { return types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", i, kind)) }
	now := metav1.NewTime(time.Unix(1_800_000_000, 0))
	aor := number + "@customer-" + fmt.Sprint(i%1000) + ".registrar.example"
	e := &sipv1.Extension{
		TypeMeta: metav1.TypeMeta{APIVersion: sipv1.GroupVersion.String(), Kind: "Extension"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: name, UID: uid(1), ResourceVersion: fmt.Sprint(500000 + i),
			Generation: 1, CreationTimestamp: now, Finalizers: []string{sipv1.ExtensionFinalizer}},
		Spec: sipv1.ExtensionSpec{DomainRef: fmt.Sprintf("d%d", i%1000), Extension: number},
		Status: sipv1.ExtensionStatus{AddressOfRecord: aor, PasswordSecret: GeneratedPasswordSecretName(name), ObservedGeneration: 1,
			Conditions: []metav1.Condition{{Type: sipv1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 1,
				LastTransitionTime: now, Reason: sipv1.ReasonReady, Message: "accepting registrations for " + aor}}},
	}
	ext, err := json.Marshal(e)
	if err != nil {
		b.Fatal(err)
	}
	pw := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: GeneratedPasswordSecretName(name), UID: uid(2),
		ResourceVersion: fmt.Sprint(500001 + i), CreationTimestamp: now, Labels: passwordLabels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: sipv1.GroupVersion.String(), Kind: "Extension", Name: name, UID: uid(1),
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{GeneratedPasswordKey: []byte("0123456789abcdefghijklmn")}}
	customer := fmt.Sprintf("customer-%d", i%1000)
	cr := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "registrar-system", Name: published.CredentialSecretName(customer, number),
		UID: uid(3), ResourceVersion: fmt.Sprint(500002 + i), CreationTimestamp: now,
		Labels: sourceLabels(published.ComponentCredential, customer, "bench", name),
		Annotations: map[string]string{annotationCredentialHash: credentialHash(
			deriveCredentialHashKey([]byte("a nonce key of the bench, 32 B!!")), credentialInputs{realm: "bench"},
			map[string][]byte{published.KeyExtension: []byte(number)})},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "registrar-operator-anchor", UID: "5f0c2a7e-1111-4222-8333-944455556666"}}},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{published.KeyExtension: []byte(number)}}
	if password, err = pw.Marshal(); err != nil {
		b.Fatal(err)
	}
	if cred, err = cr.Marshal(); err != nil {
		b.Fatal(err)
	}
	return ext, password, cred
}

// BenchmarkCachedBytesPerExtension: the live heap that an Extension takes once decoded
// and slimmed for the operator's cache (the informer's store and indexes not counted),
// and what the watches of generated passwords and published credentials keep of its
// two Secrets (passwordVersions, credentialVersions, their maps included). Run with
// -benchtime 1x.
func BenchmarkCachedBytesPerExtension(b *testing.B) {
	const n = 20000
	wire := make([][3][]byte, n)
	for i := range wire {
		e, p, c := wireObjects(b, i)
		wire[i] = [3][]byte{e, p, c}
	}
	for b.Loop() {
		kept := make([]any, 0, n)
		before := liveHeap()
		passwords := passwordStore(nil, nil)
		credentials := credentialStore(nil, "registrar-system")
		for i := range wire {
			e, p, c := &sipv1.Extension{}, &corev1.Secret{}, &corev1.Secret{}
			if err := json.Unmarshal(wire[i][0], e); err != nil {
				b.Fatal(err)
			}
			if err := p.Unmarshal(wire[i][1]); err != nil {
				b.Fatal(err)
			}
			if err := c.Unmarshal(wire[i][2]); err != nil {
				b.Fatal(err)
			}
			if err := passwords.Update(&metav1.PartialObjectMetadata{ObjectMeta: p.ObjectMeta}); err != nil {
				b.Fatal(err)
			}
			if err := credentials.Update(c); err != nil {
				b.Fatal(err)
			}
			slim, err := slimForCache(e)
			if err != nil {
				b.Fatal(err)
			}
			kept = append(kept, slim)
		}
		b.ReportMetric(float64(liveHeap()-before)/n, "B/Extension")
		runtime.KeepAlive(kept)
		runtime.KeepAlive(passwords)
		runtime.KeepAlive(credentials)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
