package controllers

import (
	"context"
	"fmt"
	"os"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
)

// LeaderLease is the operator's leader-election lock: controller-runtime's Lease,
// but owned by the anchor like everything else the operator creates in the
// registrar namespace. Every write of the Lease carries the owner reference, so a
// Lease of an earlier release gets it on the leader's next renewal, and a Lease an
// operator still renews, or creates anew, during `helm uninstall` names an anchor
// that is gone and is collected. Deleting the Lease on shutdown instead would not
// do: helm deletes the operator's RBAC and ServiceAccount at once with its
// Deployment, so the operator may no longer delete anything by the time it stops.
func LeaderLease(cfg *rest.Config, namespace, name string, anchor metav1.OwnerReference) (resourcelock.Interface, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("while naming the leader: %w", err)
	}
	id := host + "_" + string(uuid.NewUUID()) // as controller-runtime names it
	cs, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election"))
	if err != nil {
		return nil, fmt.Errorf("while creating the leader-election client: %w", err)
	}
	events := record.NewBroadcaster()
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events(namespace)})
	return &resourcelock.LeaseLock{
		LeaseMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Client:    anchoredLeases{cs.CoordinationV1(), anchor},
		LockConfig: resourcelock.ResourceLockConfig{
			Identity:      id,
			EventRecorder: events.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: id}),
		},
	}, nil
}

// anchoredLeases adds the anchor's owner reference to every Lease it creates or updates.
type anchoredLeases struct {
	coordinationv1client.LeasesGetter
	anchor metav1.OwnerReference
}

func (a anchoredLeases) Leases(namespace string) coordinationv1client.LeaseInterface {
	return anchoredLeaseClient{a.LeasesGetter.Leases(namespace), a.anchor}
}

type anchoredLeaseClient struct {
	coordinationv1client.LeaseInterface
	anchor metav1.OwnerReference
}

func (c anchoredLeaseClient) Create(ctx context.Context, l *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error) {
	addOwnerRefs(l, c.anchor)
	return c.LeaseInterface.Create(ctx, l, opts)
}

func (c anchoredLeaseClient) Update(ctx context.Context, l *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	addOwnerRefs(l, c.anchor)
	return c.LeaseInterface.Update(ctx, l, opts)
}
