package main

import (
	"strings"
	"testing"
)

// --registrar-record-route-host takes the address phones send BYE and re-INVITE to:
// a DNS name or an IP address; anything else (a URI, a port, a name that is neither)
// stops the operator at start with an error naming the flag, instead of registrar
// pods that write an unreachable Record-Route.
func TestCheckRecordRouteHost(t *testing.T) {
	for _, ok := range []string{"", "sip.example.com", "a1b2c3-1234567890.elb.eu-west-1.amazonaws.com", "registrar", "203.0.113.10", "2001:db8::10"} {
		if err := checkRecordRouteHost(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"SIP.example.com", "sip.example.com.", "sip.example.com:5060", "sip:sip.example.com", "https://sip.example.com",
		"-sip.example.com", "sip_1.example.com", "999.1.1.1", "203.0.113.10/32", "[2001:db8::10]", "sip example.com",
		strings.Repeat("a", 64) + ".example.com",
	} {
		err := checkRecordRouteHost(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "--registrar-record-route-host=") || !strings.Contains(err.Error(), "want an IP address or a DNS name") {
			t.Errorf("%q: error %v, want one naming the flag and what it wants", bad, err)
		}
	}
}
