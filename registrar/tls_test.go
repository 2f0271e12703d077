package registrar_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
	"github.com/voipbin/registrar-operator/registrar/tlsserve/testcert"
)

// A phone registers over TLS (407, then 200 over the same connection), its binding
// reads transport TLS in the Extension status, and a MESSAGE for it comes down
// that very connection, with our Via naming the TLS listener; the phone's 200
// reaches the sender.
func TestTLSRegisterAndMessage(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	phone := newTLSPhone(t, r, tn)
	phone.MustRegister(600)

	b := bindingsAre(t, tn, 1)[0]
	if b.Transport != "TLS" || b.Registrar != "replica-tls" || b.Source != phone.LocalAddr().String() {
		t.Errorf("binding %+v, want transport TLS from %s on replica-tls", b, phone.LocalAddr())
	}

	if got := wideColumn(t, tn, "Transport"); got != "TLS" {
		t.Errorf("kubectl get extensions -o wide shows transport %q, want TLS", got)
	}

	routable(t, r.Replica, tn, 1)
	id := callID(t)
	caller := tn.caller(t, r.Replica, "uac-message.xml", id, "1001")
	req := phone.Expect(sip.MESSAGE)
	_, port, _ := net.SplitHostPort(r.TLSAddress())
	if via := req.Via(); via.Transport != "TLS" || strconv.Itoa(via.Port) != port {
		t.Errorf("our Via is %s, want SIP/2.0/TLS on port %s", via.Value(), port)
	}
	phone.Reply(req, sip.StatusOK, "OK")
	if err := caller.wait(); err != nil {
		t.Fatal(err)
	}
}

// A call to a device registered over TLS: the INVITE comes down its connection
// with our Record-Route naming the TLS listener on top (and the caller's UDP side
// below, RFC 5658), and the caller's ACK and BYE, routed through us, come down the
// same connection, without our Route entries.
func TestTLSCallReachesTheDeviceOverItsConnection(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	phone := newTLSPhone(t, r, tn)
	phone.MustRegister(600)
	routable(t, r.Replica, tn, 1)

	caller := tn.caller(t, r.Replica, "uac-call.xml", callID(t), "1001")
	inv := phone.Expect(sip.INVITE)
	_, port, _ := net.SplitHostPort(r.TLSAddress())
	if rr := inv.RecordRoute(); rr == nil || rr.Address.Port != atoi(t, port) || !strings.EqualFold(param(rr.Address, "transport"), "tls") {
		t.Errorf("top Record-Route %v, want our TLS listener (port %s, transport=tls)", rr, port)
	}
	phone.Answer(inv, sip.StatusOK, "OK")
	ack := phone.Expect(sip.ACK)
	bye := phone.Expect(sip.BYE)
	for _, req := range []siptest.Received{ack, bye} {
		// Both our entries leave the route set (RFC 3261 §16.4), the TLS one too.
		if rt := req.Route(); rt != nil {
			t.Errorf("the %s reached the device with Route %s", req.Method, rt.Value())
		}
	}
	phone.Reply(bye, sip.StatusOK, "OK")
	if err := caller.wait(); err != nil {
		t.Fatal(err)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func param(u sip.Uri, name string) string {
	v, _ := u.UriParams.Get(name)
	return v
}

// A rotated certificate is served to new connections without a restart, while a
// connection made before it keeps working.
func TestTLSCertificateRotation(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	before := newTLSPhone(t, r, tn)
	before.MustRegister(600)

	r.rotate(t, 2)
	eventually(t, "a new connection gets the certificate of serial 2", func() error {
		c, err := r.dial()
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		if got := c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != 2 {
			return fmt.Errorf("serial %d", got)
		}
		return nil
	})
	if got := before.TLSState().PeerCertificates[0].SerialNumber.Int64(); got != 1 {
		t.Fatalf("the earlier connection has serial %d", got)
	}
	res, err := before.Register("", 0, 600)
	if err != nil {
		t.Fatalf("the connection made before the rotation no longer works: %v", err)
	}
	if res.StatusCode != sip.StatusProxyAuthRequired && res.StatusCode != sip.StatusUnauthorized {
		t.Errorf("a REGISTER over the earlier connection got %d %s, want a challenge", res.StatusCode, res.Reason)
	}
}

// A client that starts a TLS handshake and never finishes it is cut at the
// first-message deadline: the handshake counts against it.
func TestTLSStalledHandshakeIsCut(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 300*time.Millisecond)
	c, err := net.Dial("tcp", r.TLSAddress())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	// A handshake record header announcing 255 bytes that never come.
	if _, err := c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0xff}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the stalled handshake was still open after %s", wait)
	}
	if err == nil {
		t.Fatal("the replica answered a handshake that never finished")
	}
}

// The replica's metrics count its open TLS connections, the handshakes that
// failed, and tell when the served certificate expires.
func TestTLSMetrics(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	phone := newTLSPhone(t, r, tn)
	phone.MustRegister(600)
	notAfter := phone.TLSState().PeerCertificates[0].NotAfter.Unix()
	expect := func(line string) { t.Helper(); metricShows(t, r, line) }
	expect(`sip_open_connections{transport="TLS"} 1`)
	expect(fmt.Sprintf("sip_tls_certificate_expiry_timestamp_seconds %g", float64(notAfter)))

	plain, err := net.Dial("tcp", r.TLSAddress())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = plain.Close() }()
	if _, err := io.WriteString(plain, "OPTIONS sip:x SIP/2.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	expect("sip_tls_handshake_failures_total 1")
	expect(`sip_open_connections{transport="TLS"} 1`) // the failed one is gone
}

// After a rotation the expiry metric tells the new certificate's expiry, though
// no phone has connected since: an alert on it must not fire for a certificate
// that is no longer served.
func TestTLSExpiryMetricFollowsTheRotation(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	renewed, err := testcert.NewValidFor(2, 90*24*time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := renewed.Write(r.dir); err != nil {
		t.Fatal(err)
	}
	metricShows(t, r, fmt.Sprintf("sip_tls_certificate_expiry_timestamp_seconds %g", float64(renewed.Cert.NotAfter.Unix())))
}

// A device whose TLS connection is gone is reached over a new TLS connection to
// its Contact. One whose Contact accepts the connection and never answers the
// handshake costs the caller a few seconds and an error answer, not a request that
// never ends.
func TestTLSDeviceWithoutItsConnection(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startTLSReplica(t, "replica-tls", tn, 0)
	contact, accepted := silentContact(t)
	phone := newTLSPhone(t, r, tn)
	phone.Contact = "<sip:" + tn.user + "@" + contact + ";transport=tls>"
	phone.MustRegister(600)
	phone.Close()
	metricShows(t, r, `sip_open_connections{transport="TLS"} 0`)

	caller := newCaller(t, r.Replica)
	caller.Send(caller.Request(sip.MESSAGE, "sip:1001@"+tn.domain, "hello"))
	if res := caller.Final(wait); res.StatusCode < 500 {
		t.Errorf("the MESSAGE got %d %s, want an error answer", res.StatusCode, res.Reason)
	}
	select {
	case <-accepted:
	default:
		t.Error("the registrar never connected to the device's Contact")
	}
}

// metricShows waits until the replica's /metrics has line.
func metricShows(t *testing.T, r *tlsReplica, line string) {
	t.Helper()
	metricsShow(t, r.metrics, line)
}

// metricsShow waits until the /metrics served at addr has line.
func metricsShow(t *testing.T, addr, line string) {
	t.Helper()
	eventually(t, "/metrics shows "+line, func() error { return metricHas(addr, line) })
}

func scrape(addr string) (string, error) {
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	return string(body), err
}

// wideColumn is the cell of the named column in the table the API server gives
// kubectl get extensions -o wide for tn's Extension.
func wideColumn(t *testing.T, tn *tenant, column string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cs.RESTClient().Get().
		AbsPath("/apis", sipv1.GroupVersion.Group, sipv1.GroupVersion.Version, "namespaces", tn.ns, "extensions", tn.ext.Name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	for i, c := range table.ColumnDefinitions {
		if c.Name == column && len(table.Rows) == 1 {
			s, _ := table.Rows[0].Cells[i].(string)
			return s
		}
	}
	t.Fatalf("no column %s in %+v", column, table.ColumnDefinitions)
	return ""
}
