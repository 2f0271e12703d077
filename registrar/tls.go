package registrar

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voipbin/registrar-operator/registrar/netguard"
	"github.com/voipbin/registrar-operator/registrar/tlsserve"
)

// TLSConfig is SIP over TLS; an empty Address serves none.
type TLSConfig struct {
	// Address is host:port to serve SIP over TLS on (5061 by convention).
	Address string
	// CertFile and KeyFile hold the PEM certificate chain and key (tls.crt and
	// tls.key of a kubernetes.io/tls Secret); a rotated pair is served to new
	// connections without a restart. Secure WebSocket (WSS) serves them too.
	CertFile, KeyFile string
}

// listenTLS opens the TLS listener when one is configured: the certificate loads
// now (a replica that cannot serve it does not start), and the connections are
// bounded as the TCP ones are, their handshake included.
func (r *Replica) listenTLS() error {
	c := r.cfg.TLS
	if c.Address == "" {
		return nil
	}
	cert, err := r.certificate("SIP over TLS on " + c.Address)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.Address)
	if err != nil {
		return fmt.Errorf("while listening for SIP over TLS on %s: %w", c.Address, err)
	}
	inner := tlsserve.NewListener(l, tlsserve.ListenerConfig{
		TLS:             tlsserve.Config(cert),
		HandshakeFailed: r.m.tlsHandshakeFailures.Inc,
		Log:             r.log.WithName("tls"),
	})
	r.tls = netguard.New(inner, r.cfg.TCPGuard)
	return nil
}

// certificate loads TLSConfig's certificate once, for TLS and WSS alike; what
// names the listener that needs it.
func (r *Replica) certificate(what string) (*tlsserve.Certificate, error) {
	if r.cert != nil {
		return r.cert, nil
	}
	c := r.cfg.TLS
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, fmt.Errorf("%s needs a certificate and a key file", what)
	}
	cert, err := tlsserve.LoadCertificate(c.CertFile, c.KeyFile, r.log.WithName("tls"))
	if err != nil {
		return nil, err
	}
	r.cert = cert
	return cert, nil
}

// TLSAddress returns where SIP over TLS listens, or "".
func (r *Replica) TLSAddress() string {
	if r.tls == nil {
		return ""
	}
	return r.tls.Addr().String()
}

// TLSCertificate returns the certificate served to new TLS connections, or nil.
func (r *Replica) TLSCertificate() *tls.Certificate {
	if r.cert == nil {
		return nil
	}
	return r.cert.Current()
}

// registerConnectionMetrics counts the open connections of each connection
// transport, once the listeners exist.
func (r *Replica) registerConnectionMetrics(reg prometheus.Registerer) {
	open := prometheus.NewDesc("sip_open_connections", "SIP connections open now, by transport.", []string{labelTransport}, nil)
	var listeners []labelled
	if g, ok := r.tcp.(*netguard.Listener); ok {
		listeners = append(listeners, labelled{"TCP", g})
	}
	if r.tls != nil {
		listeners = append(listeners, labelled{"TLS", r.tls})
	}
	listeners = append(listeners, r.wsListeners()...)
	reg.MustRegister(&connCollector{desc: open, listeners: listeners})
	if r.cert != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sip_tls_certificate_expiry_timestamp_seconds",
			Help: "When the certificate served to new TLS connections expires (Unix time).",
		}, func() float64 {
			if leaf := r.cert.Current().Leaf; leaf != nil {
				return float64(leaf.NotAfter.Unix())
			}
			return 0
		}))
	}
}

type labelled struct {
	transport string
	l         *netguard.Listener
}

// connCollector reads the open connections from the guards at scrape time.
type connCollector struct {
	desc      *prometheus.Desc
	listeners []labelled
}

func (c *connCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *connCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.listeners {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(l.l.Stats().Active), l.transport)
	}
}
