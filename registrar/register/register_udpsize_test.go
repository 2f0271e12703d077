// The REGISTER 200 OK over UDP stays within 1300 bytes: which contacts, in what order.

package register

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/voipbin/registrar-operator/registrar/location"
)

// Over UDP the 200 OK must stay deliverable (sipgo refuses UDP writes over 1300
// bytes): with many long contacts it lists as many as fit, the request's own first.
// Over TCP it lists them all.
func TestUDPResponseStaysWithin1300Bytes(t *testing.T) {
	e := newEnv(t)
	e.addExtension(testUser, testPassword, 20)
	var last *device
	for i := range 20 {
		d := e.device(testUser, testPassword)
		d.transport = "TCP"
		d.contact = fmt.Sprintf("<sip:1001-%02d@198.51.100.%d:5060;transport=tcp;ob;x-long-parameter=%s>", i, i+1, strings.Repeat("v", 40))
		mustStatus(t, d.register(nil), sip.StatusOK, "")
		last = d
		e.advance(time.Second)
	}
	res := last.register(nil)
	if got := len(contactValues(res)); got != 20 {
		t.Fatalf("over TCP the 200 lists %d contacts, want 20", got)
	}

	last.transport = "UDP"
	m := last.next()
	last.sign(&m)
	req := m.request(t)
	rec := siptest.NewServerTxRecorder(req)
	defer rec.Terminate()
	last.reg.OnRegister(req, rec)
	results := rec.Result()
	if len(results) != 1 {
		t.Fatalf("%d responses sent", len(results))
	}
	res = results[0]
	mustStatus(t, res, sip.StatusOK, "")
	if size := len(res.String()); size > maxUDPResponse {
		t.Errorf("200 OK of %d bytes over UDP, over %d", size, maxUDPResponse)
	}
	got := contactValues(res)
	if len(got) == 0 || len(got) == 20 || !strings.HasPrefix(got[0], last.contact) {
		t.Errorf("Contact %d values, first %q: want a few, the request's own first", len(got), got)
	}
	if n := len(e.bindings(testUser)); n != 20 {
		t.Errorf("%d bindings: the size limit must not drop bindings", n)
	}
}

// When the copied headers alone pass the UDP limit, no Contact is added on top.
func TestUDPResponseWithHugeHeadersListsNoContact(t *testing.T) {
	for _, tc := range []struct {
		transport string
		contacts  int
	}{{"UDP", 0}, {"TCP", 1}} {
		t.Run(tc.transport, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.transport = tc.transport
			d.callID = strings.Repeat("c", 1400) + "@192.0.2.10"
			res := d.register(nil)
			mustStatus(t, res, sip.StatusOK, "")
			if got := len(contactValues(res)); got != tc.contacts {
				t.Errorf("%d contacts listed, want %d", got, tc.contacts)
			}
			if n := len(e.bindings(testUser)); n != 1 {
				t.Errorf("%d bindings", n)
			}
		})
	}
}

// The 200 lists the bindings the request touched first, each group in table order.
func TestOrderForResponsePutsTouchedBindingsFirst(t *testing.T) {
	bs := []location.Binding{{URI: "sip:a@h"}, {URI: "sip:b@h"}, {URI: "sip:c@h"}, {URI: "sip:d@h"}, {URI: "sip:e@h"}}
	touched := []location.ContactUpdate{{URI: "sip:e@h"}, {URI: "sip:B@h"}, {URI: "sip:zz@h"}}
	var got []string
	for _, b := range orderForResponse(bs, touched) {
		got = append(got, b.URI)
	}
	// URIEqual compares the user part case-sensitively: B is not b.
	if want := []string{"sip:e@h", "sip:a@h", "sip:b@h", "sip:c@h", "sip:d@h"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	touched = []location.ContactUpdate{{URI: "sip:d@h"}, {URI: "sip:b@h"}}
	got = got[:0]
	for _, b := range orderForResponse(bs, touched) {
		got = append(got, b.URI)
	}
	if want := []string{"sip:b@h", "sip:d@h", "sip:e@h", "sip:a@h", "sip:c@h"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// A request's size as received lets a 200 OK skip measuring itself against the UDP
// limit. The bound must hold for requests that render longer than they arrived:
// compact header names, unbracketed and unquoted name-addrs, many Vias, rport.
func TestSizedUDPResponseNeverPassesTheLimit(t *testing.T) {
	compact := strings.NewReplacer("\r\nVia: ", "\r\nv: ", "\r\nFrom: <sip:1001@"+testDomain+">", "\r\nf:Alice<sip:1001@"+testDomain+">",
		"\r\nTo: <sip:1001@"+testDomain+">", "\r\nt:sip:1001@"+testDomain, "\r\nCall-ID: ", "\r\ni:", "\r\nContact: ", "\r\nm:")
	e := newEnv(t)
	e.addExtension(testUser, testPassword, 3)
	d := e.device(testUser, testPassword)
	mustStatus(t, d.register(nil), sip.StatusOK, "")
	sawFit := false
	for vias := 0; vias < 60; vias += 3 {
		m := d.next()
		for i := range vias {
			m.extra = append(m.extra, fmt.Sprintf("v: SIP/2.0/UDP h%d;branch=z9hG4bK%d;rport", i, i))
		}
		d.sign(&m)
		raw := []byte(compact.Replace(string(m.bytes())))
		req := parseRequest(t, raw, m.src, "UDP")
		res := d.reg.HandleDatagram(req, len(raw))
		mustStatus(t, res, sip.StatusOK, "")
		rendered := len(res.String())
		// Past the limit only when the copied headers alone pass it (no Contact then).
		if rendered > maxUDPResponse && len(contactValues(res)) > 0 {
			t.Fatalf("%d extra Vias: request of %d bytes, 200 OK of %d bytes over UDP", vias, len(raw), rendered)
		}
		if fitsUnmeasured(res, nil, len(raw)) {
			sawFit = true
			if rendered > maxUDPResponse {
				t.Fatalf("%d extra Vias: judged to fit unmeasured, rendered %d bytes", vias, rendered)
			}
		}
	}
	if !sawFit {
		t.Error("no request took the unmeasured path: the test covers nothing")
	}
}
