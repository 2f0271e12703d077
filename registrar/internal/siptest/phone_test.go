package siptest

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Two phones on loopback: what one sends, the other expects, a retransmission of a
// request it already has skipped, and the answer reaches the sender.
func TestExpectSkipsRetransmissionsAndAnswerComesBack(t *testing.T) {
	callee := NewUDP(t, "127.0.0.1", "", Account{User: "1001", Domain: "example.org"})
	caller := NewUDP(t, "127.0.0.1", callee.LocalAddr().String(), Account{User: "caller", Domain: "example.org"})

	inv := caller.Request(sip.INVITE, "sip:1001@example.org", "")
	caller.Send(inv)
	caller.Send(inv) // a retransmission
	caller.Send(caller.Request(sip.MESSAGE, "sip:1001@example.org", "hello"))

	got := callee.Expect(sip.INVITE)
	if got.CallID().Value() != inv.CallID().Value() {
		t.Fatalf("got Call-ID %s, want the INVITE's %s", got.CallID().Value(), inv.CallID().Value())
	}
	msg := callee.Expect(sip.MESSAGE, got)
	if string(msg.Body()) != "hello" {
		t.Errorf("MESSAGE body %q", msg.Body())
	}
	callee.Answer(got, sip.StatusBusyHere, "Busy Here")
	res := caller.Final(5 * time.Second)
	if res.StatusCode != sip.StatusBusyHere || !res.To().Params.Has("tag") {
		t.Errorf("the caller got %d %s, To %s: want the callee's 486 with its tag", res.StatusCode, res.Reason, res.To().Value())
	}
	// Final ACKs a non-2xx to an INVITE within its transaction: same branch.
	ack := callee.Expect(sip.ACK, got)
	if Branch(ack.Request) != Branch(inv) {
		t.Errorf("ACK branch %q, want the INVITE's %q", Branch(ack.Request), Branch(inv))
	}
}

// A message is framed on a stream by its Content-Length, whatever follows it.
func TestReadStreamFramesByContentLength(t *testing.T) {
	one := "MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello"
	two := "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n"
	r := bufio.NewReader(strings.NewReader(one + two))
	for _, want := range []string{one, two} {
		got, err := ReadStream(r)
		if err != nil || string(got) != want {
			t.Errorf("ReadStream = %q, %v; want %q", got, err, want)
		}
	}
}

// Authenticated fails unless the registration ends in 200: a phone refused after
// answering its challenge is not registered.
func TestAuthenticatedWantsA200(t *testing.T) {
	registrar := NewUDP(t, "127.0.0.1", "", Account{})
	phone := NewUDP(t, "127.0.0.1", registrar.LocalAddr().String(), Account{User: "1001", Domain: "example.org", Password: "pw"})
	answers := []int{sip.StatusProxyAuthRequired, sip.StatusForbidden}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, code := range answers {
			m, err := registrar.Next(5 * time.Second)
			if err != nil {
				return
			}
			req := m.Message.(*sip.Request)
			res := sip.NewResponseFromRequest(req, code, "", nil)
			if code == sip.StatusProxyAuthRequired {
				res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="example.org", nonce="n1", algorithm=MD5, qop="auth"`))
			} else if req.GetHeader("Authorization") == nil {
				return // no answer to the challenge: the phone times out
			}
			_ = registrar.SendTo([]byte(res.String()), m.From)
		}
	}()
	nonce, res, err := phone.Authenticated(60)
	<-done
	if err == nil || res == nil || res.StatusCode != sip.StatusForbidden || nonce != "n1" {
		t.Errorf("Authenticated = %q, %v, %v; want the nonce n1 and an error for the 403", nonce, res, err)
	}
}

// Either side's in-dialog requests carry the dialog's tags: the callee's tag is the
// one its answers gave, and each request goes to the other side's Contact.
func TestDialogRequestsCarryTheDialogsTags(t *testing.T) {
	callee := NewUDP(t, "127.0.0.1", "", Account{User: "1001", Domain: "example.org"})
	caller := NewUDP(t, "127.0.0.1", callee.LocalAddr().String(), Account{User: "caller", Domain: "example.org"})
	caller.Send(caller.Request(sip.INVITE, "sip:1001@example.org", ""))
	inv := callee.Expect(sip.INVITE)
	callee.Answer(inv, sip.StatusRinging, "Ringing")
	callee.Answer(inv, sip.StatusOK, "OK")
	ok := caller.Final(5 * time.Second)
	calleeTag, _ := ok.To().Params.Get("tag")
	if calleeTag != dialogTag(inv.Request) {
		t.Fatalf("the 200's To tag %q, want the dialog's %q", calleeTag, dialogTag(inv.Request))
	}
	caller.Send(caller.InDialog(sip.BYE, ok, 2))
	bye := callee.Expect(sip.BYE, inv)
	if tag, _ := bye.To().Params.Get("tag"); tag != calleeTag || bye.CSeq().SeqNo != 2 || bye.Recipient.Port != callee.Port() {
		t.Errorf("the caller's BYE: To %s, CSeq %d, to %s", bye.To().Value(), bye.CSeq().SeqNo, bye.Recipient.String())
	}
	callee.Target = caller.LocalAddr().String()
	callee.Send(callee.Bye(inv))
	back, err := caller.NextRequest(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tag, _ := back.Request.From().Params.Get("tag"); back.Method != sip.BYE || tag != calleeTag || back.Recipient.Port != caller.Port() {
		t.Errorf("the callee's BYE: %s From %s to %s", back.Method, back.Request.From().Value(), back.Recipient.String())
	}
}
