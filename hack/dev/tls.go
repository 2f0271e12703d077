package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/tlsserve/testcert"
)

// tlsFiles are where the registrar serves SIP over TLS, and with which certificate
// (secure WebSocket serves it too).
type tlsFiles struct{ Address, CertFile, KeyFile string }

// devTLS makes a self-signed certificate for SIP over TLS on tlsAddr and secure
// WebSocket on wssAddr, valid for the sample domain, localhost and the listeners'
// hosts, in stateDir/tls; a new one at every start (it is valid for a day). With
// both addresses empty there is none.
func devTLS(tlsAddr, wssAddr, sipAddr, stateDir string) (tlsFiles, error) {
	if tlsAddr == "" && wssAddr == "" {
		return tlsFiles{}, nil
	}
	names := []string{"acme." + sipv1.DefaultDomainSuffix, "localhost", "127.0.0.1"}
	for _, addr := range []string{sipAddr, tlsAddr, wssAddr} {
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

// wsListeners are where the registrar serves SIP over WebSocket, and to which pages.
type wsListeners struct {
	Address, SecureAddress string
	AllowedOrigins         []string
}

// tlsStep names the listeners besides UDP and TCP.
func tlsStep(tlsAddr string, ws wsListeners) string {
	var s strings.Builder
	for _, l := range []struct{ addr, name string }{{tlsAddr, "TLS"}, {ws.Address, "WS"}, {ws.SecureAddress, "WSS"}} {
		if l.addr != "" {
			s.WriteString(", " + l.addr + " (" + l.name + ")")
		}
	}
	return s.String()
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

// wsWelcome tells where SIP over WebSocket is served, for a browser softphone.
func wsWelcome(c wsListeners, t tlsFiles) string {
	var s string
	if c.SecureAddress != "" {
		cert, _ := filepath.Abs(t.CertFile)
		s += fmt.Sprintf(`
SIP over secure WebSocket: wss://%[2]s
(JsSIP: new JsSIP.WebSocketInterface('wss://%[2]s'), uri sip:1001@acme.%[1]s),
with the certificate %[3]s: a browser must trust it first
(open https://%[2]s and accept it, or start Chromium with
--ignore-certificate-errors --allow-insecure-localhost).
`, sipv1.DefaultDomainSuffix, c.SecureAddress, cert)
	}
	if c.Address != "" {
		s += fmt.Sprintf("SIP over WebSocket: ws://%s (from pages on http:// only: browsers refuse ws:// from https://).\n", c.Address)
	}
	switch {
	case s == "":
	case slices.Contains(c.AllowedOrigins, "*"):
		s += "Any web page may connect (-ws-allowed-origins).\n"
	default:
		s += fmt.Sprintf("Web pages of %s may connect (-ws-allowed-origins).\n", strings.Join(c.AllowedOrigins, ", "))
	}
	return s
}
