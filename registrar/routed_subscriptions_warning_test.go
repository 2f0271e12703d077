package registrar_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/proxy"
)

// A replica that routes SUBSCRIBE (by name or with *) and record-routes without
// --record-route-host writes its pod IP in a subscription's Record-Route: the
// subscription breaks at the replica's restart, and a phone outside the cluster
// never reaches it. It starts, and warns at start what to set, under each name the
// user may set it by. With a record-route host, without SUBSCRIBE routed (the
// default methods), or without record-routing, no warning.
func TestRoutedSubscriptionsWithoutRecordRouteHostWarn(t *testing.T) {
	advice := []string{"SUBSCRIBE", "--record-route-host", "--registrar-record-route-host", "registrar.recordRouteHost"}
	for _, tc := range []struct {
		name   string
		change func(*registrar.Config)
		warns  bool
	}{
		{"SUBSCRIBE routed", func(c *registrar.Config) { c.RoutedMethods = []string{"INVITE", "SUBSCRIBE"} }, true},
		{"every method routed", func(c *registrar.Config) { c.RoutedMethods = []string{proxy.AllMethods} }, true},
		{"SUBSCRIBE routed, a record-route host", func(c *registrar.Config) {
			c.RoutedMethods, c.RecordRouteHost = []string{"SUBSCRIBE"}, fleetHost
		}, false},
		{"the default methods", func(c *registrar.Config) { c.RoutedMethods = nil }, false},
		{"SUBSCRIBE routed, no record-routing", func(c *registrar.Config) {
			c.RoutedMethods, c.DisableRecordRoute = []string{"SUBSCRIBE"}, true
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := startedReplicaLog(t, "replica-subscriptions", tc.change)
			warned := strings.Contains(out, "warning: subscriptions")
			if warned != tc.warns {
				t.Fatalf("warned %v, want %v; the replica logged:\n%s", warned, tc.warns, out)
			}
			for _, a := range advice {
				if warned && !strings.Contains(out, a) {
					t.Errorf("the warning does not name %s:\n%s", a, out)
				}
			}
		})
	}
}

// startedReplicaLog starts a replica on loopback, changed by change, until it
// serves SIP, and returns what it logged by then; it is stopped when the test ends.
func startedReplicaLog(t *testing.T, name string, change func(*registrar.Config)) string {
	t.Helper()
	var out testenv.LockedBuffer
	log := funcr.New(func(prefix, args string) { _, _ = out.Write([]byte(prefix + " " + args + "\n")) }, funcr.Options{})
	cfg := registrar.Config{
		Namespace: registrarNS, Name: name, AdvertiseHost: "127.0.0.1",
		SIPAddress: "127.0.0.1:0", Transports: []string{"udp", "tcp"},
		MetricsAddress: "0", ProbeAddress: "0",
		NonceLifetime: 5 * time.Minute, StatusLease: 15 * time.Minute, StatusInterval: 50 * time.Millisecond,
	}
	change(&cfg)
	r, err := registrar.New(cfg, env.Config, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-r.SIPReady:
	case err := <-done:
		done <- err
		t.Fatalf("the replica stopped: %v\n%s", err, out.String())
	case <-time.After(wait):
		t.Fatalf("the replica did not serve SIP within %v:\n%s", wait, out.String())
	}
	return out.String()
}
