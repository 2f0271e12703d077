package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/tlsserve/testcert"
)

// tlsFiles are where the registrar serves SIP over TLS, and with which certificate.
type tlsFiles struct{ Address, CertFile, KeyFile string }

// devTLS makes a self-signed certificate for SIP over TLS on tlsAddr, valid for
// the sample domain, localhost and the SIP address's host, in stateDir/tls; a new
// one at every start (it is valid for a day). An empty tlsAddr serves no TLS.
func devTLS(tlsAddr, sipAddr, stateDir string) (tlsFiles, error) {
	if tlsAddr == "" {
		return tlsFiles{}, nil
	}
	names := []string{"acme." + sipv1.DefaultDomainSuffix, "localhost", "127.0.0.1"}
	for _, addr := range []string{sipAddr, tlsAddr} {
		if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
			names = append(names, host)
		}
	}
	pair, err := testcert.New(1, names...)
	if err != nil {
		return tlsFiles{}, err
	}
	dir := filepath.Join(stateDir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tlsFiles{}, err
	}
	certFile, keyFile, err := pair.Write(dir)
	if err != nil {
		return tlsFiles{}, err
	}
	return tlsFiles{Address: tlsAddr, CertFile: certFile, KeyFile: keyFile}, nil
}

func tlsStep(tlsAddr string) string {
	if tlsAddr == "" {
		return ""
	}
	return " and " + tlsAddr + " (TLS)"
}

// tlsWelcome tells where SIP over TLS is served and which certificate to trust.
func tlsWelcome(c tlsFiles) string {
	if c.Address == "" {
		return ""
	}
	cert, _ := filepath.Abs(c.CertFile)
	return fmt.Sprintf(`
SIP over TLS: %[2]s (sips:1001@acme.%[1]s, or transport TLS in a softphone), with a
self-signed certificate made for this run: trust %[3]s in the softphone.
Check it:

  openssl s_client -connect %[2]s -CAfile %[3]s </dev/null
`, sipv1.DefaultDomainSuffix, c.Address, cert)
}
