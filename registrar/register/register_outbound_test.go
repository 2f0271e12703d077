// RFC 5626 outbound in a REGISTER: who keeps the flow, and one flow per REGISTER.

package register

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

const (
	outboundInstance = "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"
	// proxyVia is the Via of a proxy in front of the registrar, on top of the device's.
	proxyVia = "SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bK-proxy1;rport"
	// deviceVia is the device's Via, below the proxy's.
	deviceVia = "SIP/2.0/TCP 10.9.9.9:5070;branch=z9hG4bK-device1;rport"
)

// flowContact is an outbound Contact with reg-id regID.
func flowContact(regID string) string {
	return `<sip:1001@10.9.9.9:5070;transport=tcp;ob>;reg-id=` + regID + `;+sip.instance="` + outboundInstance + `"`
}

// RFC 5626 §6: the registrar keeps a flow only when it is the first hop (one Via,
// no Path) or the first hop said it keeps flows (ob in the top Path URI). Behind a
// proxy that did not, a device that asked for outbound gets 439 and nothing is
// bound; one that did not gets a plain RFC 3261 binding (reg-id ignored, its
// instance kept), without Require: outbound.
func TestOutboundOnlyWhereTheFirstHopKeepsTheFlow(t *testing.T) {
	for _, tc := range []struct {
		name            string
		transport       string
		proxied         bool   // a proxy's Via on top of the device's
		path            string // Path header value, "" for none
		supported       string
		code            int
		regID           int32 // of the binding, when 200
		requireOutbound bool
		flowTimer       bool
	}{
		{"first hop, one Via", "TCP", false, "", "outbound, path", sip.StatusOK, 1, true, true},
		{"two Vias, device asked for outbound", "TCP", true, "", "outbound, path", 439, 0, false, false},
		{"two Vias, device did not ask", "TCP", true, "", "path", sip.StatusOK, 0, false, false},
		{"two Vias over UDP, device asked", "UDP", true, "", "outbound", 439, 0, false, false},
		{"two Vias behind a Path with ob", "TCP", true, "<sip:edge.example.net;lr;ob>", "outbound, path", sip.StatusOK, 1, true, false},
		{"two Vias behind a Path without ob, device asked", "TCP", true, "<sip:edge.example.net;lr>", "outbound, path", 439, 0, false, false},
		{"two Vias behind a Path without ob, device did not ask", "TCP", true, "<sip:edge.example.net;lr>", "path", sip.StatusOK, 0, false, false},
	} {
		for _, p := range parsers {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse, d.transport = p.parse(), tc.transport
				res := d.register(func(m *msg) {
					m.contacts = []string{flowContact("1")}
					m.extra = append(m.extra, "Supported: "+tc.supported)
					if tc.path != "" {
						m.extra = append(m.extra, "Path: "+tc.path)
					}
					if tc.proxied {
						m.via, m.belowVia = proxyVia, deviceVia
					}
				})
				reason := ""
				if tc.code == 439 {
					reason = "First Hop Lacks Outbound Support"
				}
				mustStatus(t, res, tc.code, reason)
				bs := e.bindings(testUser)
				if tc.code != sip.StatusOK {
					if len(bs) != 0 {
						t.Errorf("bindings %+v after %d", bs, tc.code)
					}
					return
				}
				if len(bs) != 1 || bs[0].RegID != tc.regID || bs[0].Instance != outboundInstance {
					t.Fatalf("bindings %+v, want one with reg-id %d and the instance", bs, tc.regID)
				}
				if got := res.GetHeader("Require") != nil; got != tc.requireOutbound {
					t.Errorf("Require: outbound %v, want %v\n%s", got, tc.requireOutbound, res)
				}
				if got := res.GetHeader("Flow-Timer") != nil; got != tc.flowTimer {
					t.Errorf("Flow-Timer %v, want %v\n%s", got, tc.flowTimer, res)
				}
			})
		}
	}
}

// RFC 5626 §4.2.1, §6: one flow per REGISTER. More than one Contact with
// +sip.instance and reg-id is 400, whatever the transport and Supported; a reg-id
// without +sip.instance is ignored and does not count.
func TestMoreThanOneFlowInAREGISTERIs400(t *testing.T) {
	other := `<sip:1001@10.9.9.9:5071;transport=tcp;ob>;reg-id=2;+sip.instance="` + outboundInstance + `"`
	for _, tc := range []struct {
		name      string
		transport string
		supported string
		contacts  []string
		code      int
	}{
		{"two reg-ids, one instance", "TCP", "outbound, path", []string{flowContact("1"), other}, sip.StatusBadRequest},
		{"the same reg-id twice", "TCP", "outbound", []string{flowContact("1"), flowContact("1")}, sip.StatusBadRequest},
		{"two reg-ids without Supported: outbound", "TCP", "", []string{flowContact("1"), other}, sip.StatusBadRequest},
		{"two reg-ids over UDP", "UDP", "outbound", []string{flowContact("1"), other}, sip.StatusBadRequest},
		{"a second reg-id without an instance is ignored", "TCP", "outbound", []string{flowContact("1"), "<sip:1001@10.9.9.9:5071;transport=tcp>;reg-id=2"}, sip.StatusOK},
		{"reg-ids without instances are ignored", "TCP", "outbound", []string{"<sip:1001@10.9.9.9:5070>;reg-id=1", "<sip:1001@10.9.9.9:5071>;reg-id=2"}, sip.StatusOK},
	} {
		for _, p := range parsers {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse, d.transport = p.parse(), tc.transport
				res := d.register(func(m *msg) {
					m.contacts = tc.contacts
					if tc.supported != "" {
						m.extra = append(m.extra, "Supported: "+tc.supported)
					}
				})
				reason := "OK"
				if tc.code == sip.StatusBadRequest {
					reason = reasonSeveralFlows
				}
				mustStatus(t, res, tc.code, reason)
				if bs := e.bindings(testUser); tc.code != sip.StatusOK && len(bs) != 0 {
					t.Errorf("bindings %+v after %d", bs, tc.code)
				}
			})
		}
	}
}
