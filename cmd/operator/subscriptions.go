package main

import (
	"errors"

	"github.com/voipbin/registrar-operator/controllers"
)

// checkRoutedSubscriptions reports registrars that would write their pod IP in the
// Record-Route of the subscriptions they route (controllers.SubscriptionsOnPodAddress),
// saying what to set. A warning, not refused: where every phone reaches the pods,
// subscriptions work until a replica restarts.
func checkRoutedSubscriptions(f controllers.FleetOptions) error {
	if !controllers.SubscriptionsOnPodAddress(f) {
		return nil
	}
	return errors.New("the registrars route SUBSCRIBE (--routed-methods in --registrar-extra-args) without a record-route host: " +
		"they write their pod IP in a subscription's Record-Route, so its NOTIFY and re-SUBSCRIBE fail from that replica's restart " +
		"until the phone subscribes again, and phones outside the cluster never reach it; " +
		"set --registrar-record-route-host (registrar.recordRouteHost in the chart) to the address phones reach the registrar Service at " +
		"(its LoadBalancer's IP or DNS name, or the Service's DNS name for phones in the cluster)")
}
