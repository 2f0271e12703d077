package testenv

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/voipbin/registrar-operator/api/scheme"
	"github.com/voipbin/registrar-operator/controllers"
)

// StartOperator runs the operator's reconcilers, wired as cmd/operator wires them,
// in this process against the control plane, until ctx ends. The returned channel
// yields the manager's result when it stops.
func (e *Env) StartOperator(ctx context.Context, o controllers.Options) (<-chan error, error) {
	if err := e.EnsureNamespace(ctx, o.RegistrarNamespace); err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme:                 scheme.New(),
		Cache:                  controllers.CacheOptions(o),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// A test may run a second operator, on a control plane of its own, in the same
		// process: the controller names repeat.
		Controller: config.Controller{SkipNameValidation: new(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("while creating the operator's manager: %w", err)
	}
	if err := controllers.Setup(ctx, mgr, o); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return done, nil
}
