package registrar_test

import (
	"strconv"
	"testing"

	"github.com/voipbin/registrar-operator/registrar"
)

// How long UDP REGISTERs waited in the socket's queue is in /metrics: an operator
// reads its p99 to tell a replica that does not keep up. A registration is two
// REGISTERs, each read well within a second on however busy a machine.
func TestUDPRegisterQueueWaitIsInMetrics(t *testing.T) {
	tn := newTenant(t, "1001")
	metrics := "127.0.0.1:" + strconv.Itoa(freePort(t))
	r := startExtraReplica(t, "replica-metrics", "127.0.0.74", tn, func(c *registrar.Config) { c.MetricsAddress = metrics })
	phone := udpPhone(t, tn, "127.0.0.1", addressOf(r))
	phone.MustRegister(600)

	metricsShow(t, metrics, `sip_udp_register_queue_wait_seconds_count 2`)
	metricsShow(t, metrics, `sip_udp_register_queue_wait_seconds_bucket{le="1"} 2`)
}

// A replica that has refused no one yet lists every reason of
// sip_auth_failures_total and every kind of sip_throttled_requests_total at 0:
// an alert on their rate has a series to watch before the first failure.
func TestFailureCountersAreListedBeforeTheFirstFailure(t *testing.T) {
	tn := newTenant(t, "1001")
	metrics := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startExtraReplica(t, "replica-metrics", "127.0.0.74", tn, func(c *registrar.Config) { c.MetricsAddress = metrics })
	for _, line := range []string{
		`sip_auth_failures_total{reason="bad_nonce"} 0`,
		`sip_auth_failures_total{reason="wrong_credentials"} 0`,
		`sip_auth_failures_total{reason="replay"} 0`,
		`sip_throttled_requests_total{kind="source"} 0`,
		`sip_throttled_requests_total{kind="source_aor"} 0`,
		`sip_throttled_requests_total{kind="aor"} 0`,
	} {
		metricsShow(t, metrics, line)
	}
}
