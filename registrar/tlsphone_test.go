package registrar_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
	"github.com/voipbin/registrar-operator/registrar/tlsserve/testcert"
)

// tlsReplica is a replica serving SIP over TLS with a certificate it reads from
// files in a folder of the test's, as from a mounted Secret.
type tlsReplica struct {
	*registrar.Replica
	dir   string
	roots *x509.CertPool
	// metrics is where the replica serves /metrics.
	metrics string
}

// startTLSReplica starts a replica with TLS on loopback, serving a certificate of
// serial 1; firstMessage is the deadline of a new connection's handshake and first
// message (0: none).
func startTLSReplica(t *testing.T, name string, tn *tenant, firstMessage time.Duration) *tlsReplica {
	t.Helper()
	dir := t.TempDir()
	pair := newCert(t, 1)
	certFile, keyFile, err := pair.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	metrics := "127.0.0.1:" + strconv.Itoa(freePort(t))
	r := startExtraReplica(t, name, "127.0.0.1", tn, func(c *registrar.Config) {
		c.TLS = registrar.TLSConfig{Address: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}
		c.TCPGuard.FirstMessage = firstMessage
		c.MetricsAddress = metrics
	})
	return &tlsReplica{Replica: r, dir: dir, roots: pair.Pool(), metrics: metrics}
}

func newCert(t *testing.T, serial int64) *testcert.Pair {
	t.Helper()
	p, err := testcert.New(serial, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rotate replaces the replica's certificate files with a new pair of serial, and
// trusts it from then on.
func (r *tlsReplica) rotate(t *testing.T, serial int64) {
	t.Helper()
	pair := newCert(t, serial)
	if _, _, err := pair.Write(r.dir); err != nil {
		t.Fatal(err)
	}
	r.roots.AddCert(pair.Cert)
}

// clientConfig verifies the replica's certificate, as a phone that trusts it does.
func (r *tlsReplica) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: r.roots, ServerName: "127.0.0.1"}
}

// dial opens a TLS connection to the replica, verifying its certificate.
func (r *tlsReplica) dial() (*tls.Conn, error) {
	d := &tls.Dialer{Config: r.clientConfig(), NetDialer: &net.Dialer{Timeout: 5 * time.Second}}
	c, err := d.Dial("tcp", r.TLSAddress())
	if err != nil {
		return nil, err
	}
	return c.(*tls.Conn), nil
}

// newTLSPhone is the tenant's device on a new TLS connection to the replica.
func newTLSPhone(t *testing.T, r *tlsReplica, tn *tenant) *siptest.Phone {
	t.Helper()
	return siptest.NewTLS(t, r.TLSAddress(), r.clientConfig(), tn.account())
}
