// Package tlsserve is the registrar's SIP over TLS (RFC 3261 §26): a certificate
// read from files that follows their rotation without a restart, and a listener
// whose handshakes fail quietly.
package tlsserve

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// DefaultCheckInterval is how often, at most, the certificate files are looked at
// again: kubelet refreshes a mounted Secret within about a minute, so a second
// adds nothing noticeable and costs reading two small files.
const DefaultCheckInterval = time.Second

// Certificate serves the certificate and key of two PEM files (tls.crt and tls.key
// of a kubernetes.io/tls Secret) to new connections. When the files change (kubelet
// swaps a symlink; cert-manager renews), the next handshake after CheckInterval
// loads them again; a pair that does not load keeps the one served so far, with
// an error in the log.
type Certificate struct {
	CertFile, KeyFile string
	// CheckInterval is how often, at most, the files are looked at; 0 is
	// DefaultCheckInterval.
	CheckInterval time.Duration
	Log           logr.Logger

	mu      sync.Mutex
	current *tls.Certificate
	loaded  stamp     // the files' stamp when current was loaded
	failed  stamp     // the stamp that last failed to load, reported once
	checked time.Time // when the files were last looked at
}

// stamp identifies a version of the two files by their contents: a renewed pair
// may have the sizes of the last, and file times that advance only once per
// kernel tick, so neither tells a rotation reliably. Reading two small files at
// most once per CheckInterval costs next to nothing.
type stamp [2][sha256.Size]byte

// LoadCertificate reads the pair once: a registrar without a usable certificate
// does not start.
func LoadCertificate(certFile, keyFile string, log logr.Logger) (*Certificate, error) {
	c := &Certificate{CertFile: certFile, KeyFile: keyFile, Log: log}
	st, err := c.fingerprint()
	if err != nil {
		return nil, err
	}
	cert, err := c.load()
	if err != nil {
		return nil, err
	}
	c.current, c.loaded, c.checked = cert, st, time.Now()
	log.Info("loaded the TLS certificate", describe(cert)...)
	return c, nil
}

// GetCertificate is tls.Config's: the current certificate, reloaded first when the
// files changed.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.Current(), nil
}

// Current returns the certificate served now, reloaded first when the files
// changed. Not only handshakes look: the expiry metric reads it too, and must
// not report a rotated certificate's predecessor to an alert while no phone
// happens to connect.
func (c *Certificate) Current() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	interval := c.CheckInterval
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	if now := time.Now(); now.Sub(c.checked) >= interval {
		c.checked = now
		c.refreshLocked()
	}
	return c.current
}

// refreshLocked loads the files again if they changed since the last load.
func (c *Certificate) refreshLocked() {
	st, err := c.fingerprint()
	if err != nil || st == c.loaded || st == c.failed {
		if err != nil && st != c.failed {
			c.failed = st
			c.Log.Error(err, "keeping the TLS certificate served so far")
		}
		return
	}
	cert, err := c.load()
	if err != nil {
		// Half-written files load on a later check, once both are complete.
		c.failed = st
		c.Log.Error(err, "keeping the TLS certificate served so far")
		return
	}
	c.current, c.loaded = cert, st
	c.Log.Info("serving a new TLS certificate", describe(cert)...)
}

// fingerprint is the stamp of the files as they are now.
func (c *Certificate) fingerprint() (stamp, error) {
	var st stamp
	for i, name := range []string{c.CertFile, c.KeyFile} {
		b, err := os.ReadFile(name) // follows kubelet's symlinks to the current version
		if err != nil {
			return st, fmt.Errorf("while reading the TLS certificate file %s: %w", name, err)
		}
		st[i] = sha256.Sum256(b)
	}
	return st, nil
}

func (c *Certificate) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("while loading the TLS certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
	}
	return &cert, nil
}

// describe names a certificate in a log line: subject, serial and expiry.
func describe(cert *tls.Certificate) []any {
	if cert.Leaf == nil {
		return nil
	}
	return []any{"subject", cert.Leaf.Subject.String(), "dnsNames", cert.Leaf.DNSNames,
		"serial", cert.Leaf.SerialNumber.String(), "notAfter", cert.Leaf.NotAfter}
}
