package registrar_test

import (
	"fmt"
	"net"
	"testing"
)

// baresip (Debian's baresip-core 1.0) registers over TLS against a replica:
// challenged first, then 200 OK with its digest answer; its binding reads
// transport TLS; a MESSAGE routed to it comes down its TLS connection and is
// answered, and a call routed to it is answered (it answers by itself) and ended
// by the caller.
func TestBaresipOverTLS(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	ua := startBaresip(t, r, tn)
	at := ua.waitFor(t, "REGISTER challenged, then accepted", 0,
		"REGISTER sip:"+tn.domain, "SIP/2.0 407", "REGISTER sip:"+tn.domain, "Proxy-Authorization: Digest", "SIP/2.0 200 OK",
		`\{0/TLS/v4\} 200 OK`)
	if b := bindingsAre(t, tn, 1)[0]; b.Transport != "TLS" {
		t.Errorf("baresip's binding %+v, want transport TLS", b)
	}
	routable(t, r.Replica, tn, 1)

	if err := tn.caller(t, r.Replica, "uac-message.xml", callID(t), tn.user).wait(); err != nil {
		t.Fatalf("a MESSAGE to baresip: %v", err)
	}
	at = ua.waitFor(t, "the MESSAGE came over TLS", at, `MESSAGE sip:\S+ `+viaOurTLS(r), "Hello from SIPp")

	if err := tn.caller(t, r.Replica, "uac-call.xml", callID(t), tn.user).wait(); err != nil {
		t.Fatalf("a call to baresip: %v", err)
	}
	ua.waitFor(t, "the call came over TLS, was answered and ended", at,
		`INVITE sip:\S+ `+viaOurTLS(r), "Call established: sip:caller@example.org", `BYE sip:\S+ `+viaOurTLS(r))
}

// startBaresip runs baresip with a configuration of its own in a temporary folder:
// one account for tn's user, sent over TLS to r; it answers calls by itself, with
// a bridge for sound (there is no sound card), and prints its SIP trace (-s) for
// the test to read. It is given r's certificate to trust, but baresip 1.0 with
// libre 1.1 does not check the server's certificate at all: trusting only the
// system's CAs instead, it registers just the same (tried).
func startBaresip(t *testing.T, r *tlsReplica, tn *tenant) *clientProc {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config": fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
sip_cafile %s/tls.crt
audio_player aubridge,test
audio_source aubridge,test
audio_alert aubridge,test
module_path /usr/lib/baresip/modules
module g711.so
module aubridge.so
module_tmp account.so
module_app menu.so
`, freePortAndNext(t), r.dir),
		"accounts": fmt.Sprintf("<sip:%s@%s;transport=tls>;auth_pass=%s;outbound=\"sip:%s;transport=tls\";regint=600;answermode=auto;audio_codecs=PCMU\n",
			tn.user, tn.domain, tn.password, r.TLSAddress()),
		"contacts": "",
	})
	return startClient(t, dir, "baresip", "-f", dir, "-s", "-n", "127.0.0.1")
}

// viaOurTLS matches the end of a request line and the top Via our replica r puts
// on what it sends over TLS.
func viaOurTLS(r *tlsReplica) string {
	host, port, _ := net.SplitHostPort(r.TLSAddress())
	return fmt.Sprintf(`SIP/2\.0\s+Via: SIP/2\.0/TLS %s:%s;`, host, port)
}
