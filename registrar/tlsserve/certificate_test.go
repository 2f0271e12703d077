package tlsserve

import (
	"crypto/tls"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/tlsserve/testcert"
)

func pair(t *testing.T, serial int64) *testcert.Pair {
	t.Helper()
	p, err := testcert.New(serial, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func served(t *testing.T, c *Certificate) int64 {
	t.Helper()
	cert, err := c.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return cert.Leaf.SerialNumber.Int64()
}

// A rotated pair is served from the next handshake on; a broken one (a bad file,
// a certificate without its key) keeps the pair served so far, until a good one
// comes.
func TestCertificateFollowsTheFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, err := pair(t, 1).Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadCertificate(certFile, keyFile, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	c.CheckInterval = 1 // every handshake looks at the files
	if got := served(t, c); got != 1 {
		t.Fatalf("serial %d served, want 1", got)
	}
	if _, _, err := pair(t, 2).Write(dir); err != nil {
		t.Fatal(err)
	}
	if got := served(t, c); got != 2 {
		t.Fatalf("after rotation, serial %d served, want 2", got)
	}

	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := served(t, c); got != 2 {
		t.Errorf("with a broken certificate file, serial %d served, want 2 kept", got)
	}
	// A certificate whose key has not arrived yet: the pair does not match.
	third := pair(t, 3)
	if err := os.WriteFile(certFile, third.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := served(t, c); got != 2 {
		t.Errorf("with a certificate and another's key, serial %d served, want 2 kept", got)
	}
	if err := os.WriteFile(keyFile, third.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := served(t, c); got != 3 {
		t.Errorf("once the key matches, serial %d served, want 3", got)
	}
}

// What the expiry metric reads follows the files without a handshake: after a
// rotation it must not keep reporting the old certificate's expiry, or an alert
// on it fires for a certificate no longer served.
func TestCurrentFollowsTheFilesWithoutAHandshake(t *testing.T) {
	dir := t.TempDir()
	first, err := testcert.NewValidFor(1, time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := first.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadCertificate(certFile, keyFile, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	c.CheckInterval = 1
	renewed, err := testcert.NewValidFor(2, 90*24*time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := renewed.Write(dir); err != nil {
		t.Fatal(err)
	}
	got := c.Current().Leaf
	if got.SerialNumber.Int64() != 2 || !got.NotAfter.Equal(renewed.Cert.NotAfter) {
		t.Errorf("after a rotation, Current has serial %d expiring %s, want serial 2 expiring %s",
			got.SerialNumber.Int64(), got.NotAfter, renewed.Cert.NotAfter)
	}
}

// A replica without a usable pair does not start: the error names the files.
func TestLoadCertificateRefusesABrokenPair(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, err := pair(t, 1).Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pair(t, 2).KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCertificate(certFile, keyFile, logr.Discard()); err == nil {
		t.Error("a certificate with another's key loaded")
	}
	if _, err := LoadCertificate(dir+"/missing.crt", keyFile, logr.Discard()); err == nil {
		t.Error("a missing certificate file loaded")
	}
}

// A renewal that leaves both files the size and modification time they had (a
// new key of the same length, written within one tick of the kernel's clock, or
// a tool that keeps file times) is still served: the files are told apart by
// what they hold.
func TestARenewalOfTheSameSizeAndTimeIsServed(t *testing.T) {
	dir := t.TempDir()
	first := pair(t, 1)
	certFile, keyFile, err := first.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadCertificate(certFile, keyFile, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	c.CheckInterval = 1
	sizes := func(p *testcert.Pair) [2]int { return [2]int{len(p.CertPEM), len(p.KeyPEM)} }
	var renewed *testcert.Pair
	for range 50 { // most pairs have the sizes of another; a few tries find one
		if p := pair(t, 2); sizes(p) == sizes(first) {
			renewed = p
			break
		}
	}
	if renewed == nil {
		t.Fatal("no pair of the same sizes in 50 tries")
	}
	times := map[string]time.Time{}
	for _, f := range []string{certFile, keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		times[f] = fi.ModTime()
	}
	if _, _, err := renewed.Write(dir); err != nil {
		t.Fatal(err)
	}
	for f, mt := range times {
		if err := os.Chtimes(f, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	if got := served(t, c); got != 2 {
		t.Errorf("after a renewal of the same sizes and times, serial %d served, want 2", got)
	}
}
