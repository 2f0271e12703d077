package clienttx

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"
)

// A device answering 180 and 200 back to back: the INVITE transaction gets both,
// 180 first, every time (sipgo's own transaction layer lost the 180 in about half).
func TestResponsesReachTheTransactionInOrder(t *testing.T) {
	l := New(logr.Discard())
	ua, err := sipgo.NewUA(sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(l.Unhandled)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	l.Serve(ua.TransportLayer())
	device, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = device.Close() })

	const calls = 50
	var wrong []string
	for n := range calls {
		tx, err := l.Request(context.Background(), invite(device.LocalAddr().String(), n))
		if err != nil {
			t.Fatal(err)
		}
		answerAtOnce(t, device)
		var got []int
		for len(got) < 2 {
			select {
			case res := <-tx.Responses():
				got = append(got, res.StatusCode)
			case <-time.After(time.Second):
				got = append(got, 0) // nothing more: one was lost
			}
		}
		if got[0] != sip.StatusRinging || got[1] != sip.StatusOK {
			wrong = append(wrong, fmt.Sprint(got))
		}
		tx.Terminate()
	}
	if len(wrong) > 0 {
		t.Errorf("%d of %d transactions did not get 180 then 200 (0: none): %v", len(wrong), calls, wrong)
	}
}

func TestAnAckHasNoTransaction(t *testing.T) {
	l := New(logr.Discard())
	ack := invite("127.0.0.1:5060", 0)
	ack.Method = sip.ACK
	if _, err := l.Request(context.Background(), ack); err == nil {
		t.Error("an ACK got a transaction")
	}
}

// invite is INVITE number n to the device at dest, from a UDP connection sipgo
// opens (it writes the Via's address).
func invite(dest string, n int) *sip.Request {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "1001", Host: "127.0.0.1"})
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Params: sip.NewParams()}
	via.Params.Add("branch", fmt.Sprintf("z9hG4bK-order-%d-%d", time.Now().UnixNano(), n))
	req.AppendHeader(via)
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "caller", Host: "example.org"}, Params: sip.NewParams()})
	req.From().Params.Add("tag", "caller")
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "1001", Host: "127.0.0.1"}, Params: sip.NewParams()})
	callID := sip.CallIDHeader(fmt.Sprintf("order-%d", n))
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetBody(nil)
	req.SetTransport("UDP")
	req.SetDestination(dest)
	return req
}

// answerAtOnce reads the next INVITE at the device and sends 180 and 200 for it
// back to back, as a phone answering automatically does.
func answerAtOnce(t *testing.T, device *net.UDPConn) {
	t.Helper()
	buf := make([]byte, 65535)
	_ = device.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := device.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no INVITE at the device: %v", err)
	}
	msg, err := sip.ParseMessage(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	for _, code := range []int{sip.StatusRinging, sip.StatusOK} {
		res := sip.NewResponseFromRequest(req, code, "", nil)
		res.To().Params.Add("tag", "device")
		if _, err := device.WriteToUDP([]byte(res.String()), from); err != nil {
			t.Fatal(err)
		}
	}
}
