package registrar_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// SIPp speaking TLS itself (-t l1; bin/sipp-tls, Debian trixie's SIPp 3.7.3 built
// with wolfSSL) registers against the replica's TLS listener, verifying the
// replica's certificate (made for 127.0.0.1, the address it connects to) against
// the test's CA: challenged with 407, then 200 OK for its digest answer, over TLS
// 1.2 and over TLS 1.3. Its binding reads transport TLS.
func TestSIPpRegistersOverTLS(t *testing.T) {
	for _, version := range []string{"1.2", "1.3"} {
		t.Run("TLS "+version, func(t *testing.T) {
			tn := newTenant(t, "1001")
			r := startTLSReplica(t, "replica-tls", tn, 0)
			phone := tn.sippOverTLS(t, r, sippTLSArgs(t, r.caFile(), version))
			if err := phone.run(t); err != nil {
				t.Fatal(err)
			}
			if err := inOrder(readFile(t, phone.Trace),
				`REGISTER sip:`+tn.domain, `SIP/2\.0 407 `, `REGISTER sip:`+tn.domain, `Proxy-Authorization: Digest `, `SIP/2\.0 200 OK`); err != nil {
				t.Errorf("SIPp's messages: %v", err)
			}
			if b := bindingsAre(t, tn, 1)[0]; b.Transport != "TLS" || b.Registrar != "replica-tls" {
				t.Errorf("SIPp's binding %+v, want transport TLS on replica-tls", b)
			}
		})
	}
}

// SIPp checks the certificate it is given: trusting another CA, it does not
// register over TLS, and nothing is bound.
func TestSIPpOverTLSRefusesAnUntrustedCertificate(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	otherCA, _, err := newCert(t, 7).Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = tn.sippOverTLS(t, r, sippTLSArgs(t, otherCA, "")).run(t)
	if err == nil {
		t.Fatal("SIPp registered over TLS with a certificate its CA did not sign")
	}
	if !strings.Contains(err.Error(), "TLS verification error") {
		t.Errorf("SIPp failed, but not on the certificate: %v", err)
	}
	bindingsAre(t, tn, 0)
}

// A call routed to a SIPp phone registered over TLS (-t l1) reaches it over its
// TLS connection: the INVITE, the ACK and the BYE come down it with our Via naming
// the TLS listener, and SIPp's answers go back up it to the caller. (Its Contact
// names no transport: were the connection not used, the INVITE would go over UDP,
// where this SIPp does not listen.)
func TestSIPpOverTLSTakesACall(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	id := callID(t)
	trace := filepath.Join(t.TempDir(), "messages.log")
	callee := startSIPpOver(t, "l1", "uas-call-tcp.xml", r.TLSAddress(), append(sippTLSArgs(t, r.caFile(), ""),
		"-au", tn.user, "-ap", tn.password, "-auth_uri", tn.domain,
		"-key", "domain", tn.domain, "-key", "user", tn.user, "-key", "expires", "600",
		"-cid_str", id, "-d", "300", "-trace_msg", "-message_file", trace)...)
	routable(t, r.Replica, tn, 1)
	if b := bindingsAre(t, tn, 1)[0]; b.Transport != "TLS" {
		t.Errorf("SIPp's binding %+v, want transport TLS", b)
	}
	if err := tn.caller(t, r.Replica, "uac-call.xml", id, tn.user).wait(); err != nil {
		t.Fatal(err)
	}
	if err := callee.wait(); err != nil {
		t.Fatal(err)
	}
	overTLS, via := `TLS message received \[\d+\] bytes :\s+`, viaOurTLS(r)
	if err := inOrder(readFile(t, trace),
		overTLS+`INVITE sip:\S+ `+via, `SIP/2\.0 200 OK`, overTLS+`ACK sip:\S+ `+via, overTLS+`BYE sip:\S+ `+via); err != nil {
		t.Errorf("SIPp's messages: %v", err)
	}
}

// sippOverTLS is one REGISTER of tn's by SIPp over TLS to r, with SIPp's TLS
// arguments, its messages traced to a file.
func (tn *tenant) sippOverTLS(t *testing.T, r *tlsReplica, tlsArgs []string) sippRun {
	return sippRun{Scenario: "register.xml", Transport: "tls", Target: r.TLSAddress(), LocalIP: "127.0.0.1",
		LocalPort: tn.port, User: tn.user, Domain: tn.domain, Password: tn.password, Expires: 600,
		TLS: tlsArgs, Trace: filepath.Join(t.TempDir(), "messages.log")}
}

// caFile is the certificate r serves, which signs itself: the CA a client trusts.
func (r *tlsReplica) caFile() string { return filepath.Join(r.dir, "tls.crt") }

// inOrder says which of the regular expressions does not match text after the
// previous one did.
func inOrder(text string, patterns ...string) error {
	for _, pattern := range patterns {
		loc := regexp.MustCompile(pattern).FindStringIndex(text)
		if loc == nil {
			return fmt.Errorf("nothing matches %q after the earlier ones", pattern)
		}
		text = text[loc[1]:]
	}
	return nil
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
