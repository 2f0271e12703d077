package registrar

import (
	"slices"
	"strings"

	"github.com/voipbin/registrar-operator/registrar/proxy"
)

// subscriptionsOnPodAddress reports whether this replica record-routes
// subscriptions with its own address: it routes SUBSCRIBE (RoutedMethods names it,
// or every method) and record-routes without a RecordRouteHost. A subscription
// lives for hours, its NOTIFY and re-SUBSCRIBE sent where our Record-Route says:
// the pod IP is gone at the replica's restart (the dialog breaks until the
// subscription is made again), and a phone outside the cluster never reaches it.
// Calls and a REFER's implicit subscription go the same way, but end in minutes.
func subscriptionsOnPodAddress(cfg Config) bool {
	if cfg.DisableRecordRoute || cfg.RecordRouteHost != "" {
		return false
	}
	return slices.ContainsFunc(cfg.RoutedMethods, func(m string) bool {
		return m == proxy.AllMethods || strings.EqualFold(m, "SUBSCRIBE")
	})
}

// subscriptionsOnPodAddressWarning is the start-up warning of
// subscriptionsOnPodAddress: what breaks, and what to set.
const subscriptionsOnPodAddressWarning = "warning: subscriptions this replica routes (--routed-methods names SUBSCRIBE) " +
	"record-route its own address (--advertise-host, the pod IP) since --record-route-host is not set: " +
	"their NOTIFY and re-SUBSCRIBE fail from this replica's restart until the phone subscribes again, " +
	"and a phone outside the cluster never reaches that address; set --record-route-host to the address phones reach the registrar Service at " +
	"(its LoadBalancer's IP or DNS name, or the Service's DNS name for phones in the cluster): " +
	"operator flag --registrar-record-route-host, chart value registrar.recordRouteHost"
