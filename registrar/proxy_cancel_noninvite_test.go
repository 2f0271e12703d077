package registrar_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A caller CANCELs a MESSAGE, an OPTIONS or a SUBSCRIBE while the registrar
// forks it: the CANCEL matches a request being proxied, so it gets 200, not 481
// (RFC 3261 §9.2, §16.10), and cancels nothing (§9.1): the device gets no CANCEL
// and its answer still reaches the caller.
func TestProxyAnswersCancelOfANonINVITE(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	for _, tc := range []struct {
		method sip.RequestMethod
		body   string
		extra  []string
	}{
		{sip.MESSAGE, "hello", nil},
		{sip.OPTIONS, "", nil},
		{sip.SUBSCRIBE, "", []string{"Event: presence", "Expires: 60"}},
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			caller := newCaller(t, replicaA)
			req := caller.Request(tc.method, "sip:"+tn.aor(), tc.body, tc.extra...)
			caller.Send(req)
			got := dev.Expect(tc.method)

			if res := cancelAnswer(t, caller, req); res.StatusCode != sip.StatusOK {
				t.Fatalf("the CANCEL of the %s being forked got %d %s, want 200", tc.method, res.StatusCode, res.Reason)
			}

			dev.Answer(got, sip.StatusOK, "OK")
			if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusOK || res.CSeq().MethodName != tc.method {
				t.Fatalf("the caller got %d %s for %s, want the device's 200 for its %s",
					res.StatusCode, res.Reason, res.CSeq().MethodName, tc.method)
			}
			// The device's 200 went upstream after the CANCEL was answered: a CANCEL
			// forwarded to the device would be there by now.
			if m, err := dev.Next(10 * time.Millisecond); err == nil {
				t.Fatalf("the device got:\n%s", m.Raw)
			}
		})
	}
}

// A CANCEL that crosses the device's final response to a MESSAGE over UDP still
// finds the request while its transaction lasts (Timer J): 200, not 481 (RFC 3261
// §9.2), and nothing goes to the device.
func TestProxyAnswersCancelThatCrossedTheFinal(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := newCaller(t, replicaA)
	req := caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello")
	caller.Send(req)
	dev.Answer(dev.Expect(sip.MESSAGE), sip.StatusOK, "OK")
	if res := caller.Final(5 * time.Second); res.StatusCode != sip.StatusOK {
		t.Fatalf("the MESSAGE got %d %s, want the device's 200", res.StatusCode, res.Reason)
	}
	if res := cancelAnswer(t, caller, req); res.StatusCode != sip.StatusOK {
		t.Fatalf("the CANCEL after the MESSAGE's 200 got %d %s, want 200", res.StatusCode, res.Reason)
	}
	if m, err := dev.Next(10 * time.Millisecond); err == nil {
		t.Fatalf("the device got:\n%s", m.Raw)
	}
}

// cancelAnswer sends the CANCEL of req (RFC 3261 §9.1: its Request-URI, top Via,
// From, To, Call-ID and CSeq number) and returns its answer.
func cancelAnswer(t *testing.T, caller *siptest.Phone, req *sip.Request) *sip.Response {
	t.Helper()
	cancel := caller.Request(sip.CANCEL, req.Recipient.String(), "",
		"Via: "+req.Via().Value(),
		"From: "+req.From().Value(),
		"To: "+req.To().Value(),
		"Call-ID: "+req.CallID().Value(),
		fmt.Sprintf("CSeq: %d CANCEL", req.CSeq().SeqNo))
	res, err := caller.RoundTrip([]byte(cancel.String()))
	if err != nil {
		t.Fatal(err)
	}
	if res.CSeq().MethodName != sip.CANCEL {
		t.Fatalf("the caller got %d %s for %s, want the CANCEL's answer", res.StatusCode, res.Reason, res.CSeq().MethodName)
	}
	return res
}
