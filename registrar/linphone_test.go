package registrar_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// linphonec (Debian's linphone-cli, liblinphone 5.1) registers over TLS against a
// replica: challenged first, then 200 OK with its digest answer; its binding reads
// transport TLS; a MESSAGE routed to it comes down its TLS connection and is
// shown, and a call routed to it is answered (-a) and ended by the caller.
func TestLinphoneOverTLS(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	ua := startLinphone(t, r, tn)
	at := ua.waitFor(t, "REGISTER challenged, then accepted", 0,
		"REGISTER sip:"+tn.domain, "SIP/2.0 407", "REGISTER sip:"+tn.domain, "Proxy-Authorization: +Digest", "SIP/2.0 200 OK",
		`to \[LinphoneRegistrationOk\]`)
	b := bindingsAre(t, tn, 1)[0]
	if b.Transport != "TLS" {
		t.Errorf("linphone's binding %+v, want transport TLS", b)
	}
	routable(t, r.Replica, tn, 1)
	if err := tn.caller(t, r.Replica, "uac-message.xml", callID(t), tn.user).wait(); err != nil {
		t.Fatalf("a MESSAGE to linphone: %v", err)
	}
	at = ua.waitFor(t, "the MESSAGE came over TLS", at,
		`MESSAGE sip:\S+ `+viaOurTLS(r), "Message received from sip:caller@example.org: Hello from SIPp")
	if err := tn.caller(t, r.Replica, "uac-call.xml", callID(t), tn.user).wait(); err != nil {
		t.Fatalf("a call to linphone: %v", err)
	}
	ua.waitFor(t, "the call came over TLS, was answered and ended", at,
		`INVITE sip:\S+ `+viaOurTLS(r), "auto answering to call", "with sip:caller@example.org connected", `BYE sip:\S+ `+viaOurTLS(r))
}

// startLinphone runs linphonec with a configuration of its own in a temporary
// folder: one account for tn's user, registered over TLS with r, trusting r's
// certificate; it answers calls by itself (-a), with files for sound (there is no
// sound card). It checks the certificate's chain against r's, but not its name:
// its TLS library (mbedTLS through bctoolbox) matches the host only against DNS
// names and the common name, never against an IP address, and the replica is on
// 127.0.0.1 (with the name check on, the handshake fails with "CN-mismatch").
func startLinphone(t *testing.T, r *tlsReplica, tn *tenant) *clientProc {
	t.Helper()
	dir := t.TempDir()
	// Its message database goes here, in its home.
	if err := os.MkdirAll(filepath.Join(dir, ".local", "share", "linphone"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"linphonerc": fmt.Sprintf(`[sip]
sip_port=-1
sip_tcp_port=-1
sip_tls_port=%d
default_proxy=0
root_ca=%s/tls.crt
verify_server_certs=1
verify_server_cn=0

[proxy_0]
reg_proxy=<sip:%s;transport=tls>
reg_identity=sip:%s@%s
reg_expires=600
reg_sendregister=1

[auth_info_0]
username=%s
passwd=%s
realm=%s
domain=%s

[sound]
use_files=1

[video]
capture=0
display=0
`, freePort(t), r.dir, r.TLSAddress(), tn.user, tn.domain, tn.user, tn.password, tn.domain, tn.domain),
	})
	return startClient(t, dir, "linphonec", "-c", dir+"/linphonerc", "-a", "-d", "6")
}
