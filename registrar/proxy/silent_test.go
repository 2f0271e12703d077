package proxy

import (
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"
)

// A non-INVITE that no device answers gets no final response of ours: a 408 to
// a non-INVITE is forbidden (RFC 4320 §4.2), as it only adds load where requests
// are being lost, and the client's own Timer F has fired by then. A device that
// did answer still decides, and an INVITE still gets its 408.
func TestNoDeviceAnsweringANonINVITEIsNot408(t *testing.T) {
	const quiet, busy = "192.0.2.10:5060", "192.0.2.11:5060"
	for _, tc := range []struct {
		name    string
		method  string
		answers map[string]int
		want    int // 0: no final response
	}{
		{"a MESSAGE to a silent device", "MESSAGE", map[string]int{quiet: silent}, 0},
		{"a SUBSCRIBE to a silent device", "SUBSCRIBE", map[string]int{quiet: silent}, 0},
		{"a MESSAGE to a silent and a busy device", "MESSAGE", map[string]int{quiet: silent, busy: sip.StatusBusyHere}, sip.StatusBusyHere},
		{"a MESSAGE to a silent and an unreachable device", "MESSAGE", map[string]int{quiet: silent, busy: refuse}, sip.StatusInternalServerError}, // its 503, as 500 upstream (RFC 3261 §16.7)
		{"an INVITE to a silent device", "INVITE", map[string]int{quiet: silent}, sip.StatusRequestTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txs := newScriptedRequester(tc.answers)
			p := New(Config{Transactions: txs, Self: &Self{Host: "10.0.0.1", UDPPort: 5060, TCPPort: 5060}, Log: logr.Discard()})
			caller := &recordingServerTx{done: make(chan struct{})}
			c := p.newCall(request(t, tc.method, "c1", "sip:caller@example.org", ""), caller, 69, "h", false)
			var hops []hop
			for dest := range tc.answers {
				hops = append(hops, localHop("sip:1001@"+dest, dest, transportUDP, 0))
			}
			if outcome := c.run(hops); tc.want == 0 && outcome != OutcomeTimeout {
				t.Errorf("outcome %q, want %q", outcome, OutcomeTimeout)
			}
			var finals []int
			for _, r := range caller.all() {
				if !r.IsProvisional() {
					finals = append(finals, r.StatusCode)
				}
			}
			switch {
			case tc.want == 0 && len(finals) > 0:
				t.Errorf("the caller got %v, want no final response", finals)
			case tc.want != 0 && (len(finals) != 1 || finals[0] != tc.want):
				t.Errorf("the caller got %v, want %d", finals, tc.want)
			}
		})
	}
}
