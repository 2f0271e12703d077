package proxy

import (
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// A CANCEL matches a request being handled by its top Via's branch and sent-by
// (RFC 3261 §9.2, §17.2.3), and must share its Call-ID and CSeq number; once the
// request's handler is done, nothing matches.
func TestCancelMatchesOnlyThePendingRequest(t *testing.T) {
	const via = "SIP/2.0/UDP caller.example.org:5060;branch=z9hG4bK-m1;rport"
	msg := parsed(t, "MESSAGE", via, "c1", 7)
	ps := newPendingRequests()
	done := ps.add(msg)
	for _, tc := range []struct {
		name   string
		cancel *sip.Request
		want   bool
	}{
		{"its CANCEL", parsed(t, "CANCEL", via, "c1", 7), true},
		{"its CANCEL, the host in capitals", parsed(t, "CANCEL", "SIP/2.0/UDP Caller.EXAMPLE.org:5060;branch=z9hG4bK-m1", "c1", 7), true},
		{"its CANCEL, the port left out", parsed(t, "CANCEL", "SIP/2.0/UDP caller.example.org;branch=z9hG4bK-m1", "c1", 7), true},
		{"another CSeq number", parsed(t, "CANCEL", via, "c1", 8), false},
		{"another Call-ID", parsed(t, "CANCEL", via, "c2", 7), false},
		{"another branch", parsed(t, "CANCEL", "SIP/2.0/UDP caller.example.org:5060;branch=z9hG4bK-m2", "c1", 7), false},
		{"another sent-by", parsed(t, "CANCEL", "SIP/2.0/UDP caller.example.org:5070;branch=z9hG4bK-m1", "c1", 7), false},
	} {
		if got := ps.cancels(tc.cancel); got != tc.want {
			t.Errorf("%s: cancels %v, want %v", tc.name, got, tc.want)
		}
	}
	done()
	if ps.cancels(parsed(t, "CANCEL", via, "c1", 7)) {
		t.Error("a CANCEL matched a request whose handler is done")
	}
}

// A request from an RFC 2543 client, whose branch lacks the magic cookie, is
// matched by its From tag, Call-ID, CSeq number and top Via (§17.2.3).
func TestCancelOfAnRFC2543Request(t *testing.T) {
	const via = "SIP/2.0/UDP 192.0.2.1:5060;branch=old1"
	ps := newPendingRequests()
	defer ps.add(parsed(t, "OPTIONS", via, "c1", 3))()
	if !ps.cancels(parsed(t, "CANCEL", via, "c1", 3)) {
		t.Error("its CANCEL matched nothing")
	}
	if ps.cancels(parsed(t, "CANCEL", "SIP/2.0/UDP 192.0.2.1:5060;branch=old2", "c1", 3)) {
		t.Error("a CANCEL of another top Via matched it")
	}
}

// parsed is a request of method with the given top Via, Call-ID and CSeq number.
func parsed(t *testing.T, method, via, callID string, seq int) *sip.Request {
	t.Helper()
	text := method + " sip:1001@example.com SIP/2.0\r\n" +
		"Via: " + via + "\r\n" +
		"From: <sip:caller@example.org>;tag=f1\r\n" +
		"To: <sip:1001@example.com>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: " + strconv.Itoa(seq) + " " + method + "\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}
