package main

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/controllers"
)

// leaderLeaseName is the Lease the operator replicas elect their leader with.
const leaderLeaseName = "registrar-operator.sip.voipbin.net"

// anchorTo makes the ConfigMap name (--owner-anchor) the owner of everything the
// operator creates in the registrar namespace, its leader Lease included, which it
// returns when there is an election (nil: controller-runtime's own). An empty name
// anchors nothing. A missing anchor stops the operator: during `helm uninstall` it
// must create nothing, and otherwise `helm upgrade` restores it.
func anchorTo(ctx context.Context, cfg *rest.Config, o *controllers.Options, name string, leaderElect bool) (resourcelock.Interface, error) {
	if name == "" {
		return nil, nil
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("while creating a client: %w", err)
	}
	if o.Anchor, err = controllers.OwnerAnchor(ctx, c, o.RegistrarNamespace, name); err != nil {
		return nil, err
	}
	if !leaderElect {
		return nil, nil
	}
	return controllers.LeaderLease(cfg, o.RegistrarNamespace, leaderLeaseName, *o.Anchor)
}
