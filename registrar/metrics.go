package registrar

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
	"github.com/voipbin/registrar-operator/registrar/location"
	"github.com/voipbin/registrar-operator/registrar/register"
)

// metrics is the registrar's Prometheus instrumentation. It implements the
// observers of the SIP handler and of the status writer.
type metrics struct {
	registers    *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	throttled    *prometheus.CounterVec
	writes       *prometheus.CounterVec
	writeLatency prometheus.Histogram
	// The location-service proxy (package proxy).
	routed           *prometheus.CounterVec
	forks            prometheus.Histogram
	firstProvisional prometheus.Histogram
	// The stateless UDP front end (package udpfront).
	retransmissions prometheus.Counter
	udpShed         prometheus.Counter
	udpUnanswered   prometheus.Counter
	udpDropped      prometheus.Counter
	udpQueueWait    prometheus.Histogram
	udpMalformed    *prometheus.CounterVec
	// The TLS listener (package tlsserve).
	tlsHandshakeFailures prometheus.Counter
	// The WebSocket listeners (package wsserve), by transport.
	wsRefused *prometheus.CounterVec
}

// labelTransport labels a metric by SIP transport: UDP, TCP, TLS, WS or WSS.
const labelTransport = "transport"

// labelOutcome labels a metric by what became of a request.
const labelOutcome = "outcome"

func newMetrics(reg prometheus.Registerer, table *location.Table, dir *directory.Published, pending func() int) *metrics {
	m := &metrics{
		registers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sip_register_requests_total", Help: "REGISTER requests answered, by transport and outcome.",
		}, []string{labelTransport, labelOutcome}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sip_auth_failures_total", Help: "Digest authentication failures, by reason.",
		}, []string{"reason"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sip_throttled_requests_total", Help: "Requests refused because their source, their source at that AOR, or the AOR failed too often.",
		}, []string{"kind"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registrar_status_writes_total", Help: "Extension status writes of bindings, by result.",
		}, []string{"result"}),
		writeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "registrar_status_write_duration_seconds", Help: "Latency of Extension status writes.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sip_proxy_requests_total", Help: "Requests routed to registered extensions, by method and outcome.",
		}, []string{"method", labelOutcome}),
		forks: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sip_proxy_forks", Help: "Branches (devices) one request was forked to.",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 20},
		}),
		firstProvisional: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sip_proxy_first_provisional_seconds", Help: "Time from a request to the first provisional response (above 100) relayed to the caller.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		retransmissions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sip_udp_register_retransmissions_total",
			Help: "Retransmitted REGISTERs over UDP answered again without being applied again " +
				"(from the cache of responses, or reconfirmed 200 OK).",
		}),
		udpShed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sip_udp_register_shed_total",
			Help: "REGISTERs over UDP without credentials answered 503 because they waited too long in the receive queue or found it crowded (overload).",
		}),
		udpUnanswered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sip_udp_register_shed_unanswered_total",
			Help: "REGISTERs over UDP without credentials shed under overload but dropped unanswered: their source, or all sources, had had their 503s for the second.",
		}),
		udpDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sip_udp_dropped_total", Help: "Datagrams other than REGISTER dropped because the SIP stack was not keeping up.",
		}),
		// From 50 µs, a reader that was waiting, to 1 s, far past --udp-shed-age:
		// the p99 a registrar should keep is under 2 ms.
		udpQueueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sip_udp_register_queue_wait_seconds",
			Help:    "Time REGISTERs over UDP waited in the socket's receive queue before the registrar read them, from the kernel's arrival stamp.",
			Buckets: []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
		}),
		udpMalformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sip_udp_register_malformed_total",
			Help: "REGISTERs over UDP that did not parse, by outcome: answered 400 naming the header at fault, " +
				"or dropped (no top Via that parses to answer at, nothing to name).",
		}, []string{labelOutcome}),
		tlsHandshakeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sip_tls_handshake_failures_total", Help: "TLS connections closed because their handshake failed (timeouts excluded).",
		}),
		wsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sip_ws_upgrades_refused_total",
			Help: "WebSocket upgrade requests refused (an Origin not allowed, no sip subprotocol, not an upgrade), by transport.",
		}, []string{labelTransport}),
	}
	reg.MustRegister(m.retransmissions, m.udpShed, m.udpUnanswered, m.udpDropped, m.udpQueueWait, m.udpMalformed, m.tlsHandshakeFailures, m.wsRefused)
	for _, outcome := range []string{malformedAnswered, malformedDropped} {
		m.udpMalformed.WithLabelValues(outcome)
	}
	reg.MustRegister(m.routed, m.forks, m.firstProvisional)
	// Each reason and kind is listed at 0 from the start: an alert on their rate
	// sees a series before the first failure, not only after it.
	for _, reason := range register.FailureReasons {
		m.authFailures.WithLabelValues(reason)
	}
	for _, kind := range guard.Kinds {
		m.throttled.WithLabelValues(kind)
	}
	reg.MustRegister(m.registers, m.authFailures, m.throttled, m.writes, m.writeLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sip_active_bindings", Help: "Bindings this replica holds."},
			func() float64 { _, b := table.Len(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sip_registered_aors", Help: "AORs with a binding on this replica."},
			func() float64 { a, _ := table.Len(); return float64(a) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "registrar_domains", Help: "Domains published to this replica."},
			func() float64 { d, _ := dir.Counts(); return float64(d) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "registrar_credentials", Help: "Extension credentials published to this replica."},
			func() float64 { _, c := dir.Counts(); return float64(c) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "registrar_status_pending", Help: "AORs whose bindings are queued or being written into status."},
			func() float64 { return float64(pending()) }),
	)
	return m
}

func (m *metrics) Register(transport, outcome string) {
	m.registers.WithLabelValues(transport, outcome).Inc()
}
func (m *metrics) AuthFailure(reason string) { m.authFailures.WithLabelValues(reason).Inc() }
func (m *metrics) Throttled(kind string)     { m.throttled.WithLabelValues(kind).Inc() }

func (m *metrics) StatusWrite(result string, d time.Duration) {
	m.writes.WithLabelValues(result).Inc()
	m.writeLatency.Observe(d.Seconds())
}

func (m *metrics) Routed(method, outcome string) { m.routed.WithLabelValues(method, outcome).Inc() }
func (m *metrics) Forks(n int)                   { m.forks.Observe(float64(n)) }
func (m *metrics) FirstProvisional(d time.Duration) {
	m.firstProvisional.Observe(d.Seconds())
}

func (m *metrics) Retransmission() { m.retransmissions.Inc() }
func (m *metrics) Dropped()        { m.udpDropped.Inc() }
func (m *metrics) Shed()           { m.udpShed.Inc() }
func (m *metrics) ShedUnanswered() { m.udpUnanswered.Inc() }

// The outcomes of sip_udp_register_malformed_total.
const (
	malformedAnswered = "answered"
	malformedDropped  = "dropped"
)

func (m *metrics) Malformed(answered bool) {
	outcome := malformedDropped
	if answered {
		outcome = malformedAnswered
	}
	m.udpMalformed.WithLabelValues(outcome).Inc()
}
func (m *metrics) QueueWait(d time.Duration) {
	m.udpQueueWait.Observe(d.Seconds())
}
