package registrar_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// callsAtOnce is how many calls each test below places: the race they catch lost the
// 18x of about half the calls, and of one in a hundred once sipgo no longer had it.
const callsAtOnce = 20

// A device that answers at once, as automatic answering does, sends 180 Ringing
// and 200 OK back to back: the caller gets both, in that order (RFC 3261 §16.7: a
// branch's responses are relayed as they arrive, provisional ones included).
func TestProxyRelaysRingingBeforeAnImmediateAnswer(t *testing.T) {
	relaysProvisionalFirst(t, "uas-answer-at-once.xml", sip.StatusRinging)
}

// The same with early media: the 183 and its SDP reach the caller before the 200.
func TestProxyRelaysEarlyMediaBeforeAnImmediateAnswer(t *testing.T) {
	relaysProvisionalFirst(t, "uas-early-media-at-once.xml", sip.StatusSessionInProgress)
}

// relaysProvisionalFirst places callsAtOnce calls to a SIPp phone playing scenario,
// which answers each with provisional then 200 at once, and checks that the caller
// got exactly those two, in that order, every time.
func relaysProvisionalFirst(t *testing.T, scenario string, provisional int) {
	tn := newTenant(t, "1001")
	if err := tn.sipp("register.xml", "udp", tn.password, 600).run(t); err != nil {
		t.Fatal(err)
	}
	routable(t, replicaA, tn, 1)
	udp, _ := replicaA.Addresses()
	// In server mode from the registered port; the last -m counts.
	device := startSIPp(t, scenario, udp, "-p", strconv.Itoa(tn.port), "-s", tn.user, "-m", strconv.Itoa(callsAtOnce))
	caller := newRawCaller(t, replicaA)
	var wrong []string
	for n := 1; n <= callsAtOnce; n++ {
		got, err := caller.call("sip:"+tn.aor(), fmt.Sprintf("%d-%s", n, callID(t)))
		if err != nil {
			t.Fatalf("%v\nthe device: %v", err, device.wait())
		}
		ok := len(got) == 2 && got[0].StatusCode == provisional && got[1].StatusCode == sip.StatusOK
		if ok && provisional == sip.StatusSessionInProgress && !strings.Contains(string(got[0].Body()), "m=audio") {
			ok = false
		}
		if !ok {
			wrong = append(wrong, fmt.Sprintf("call %d: %s", n, statusLine(got)))
		}
	}
	if err := device.wait(); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		want := fmt.Sprintf("%d then 200", provisional)
		if provisional == sip.StatusSessionInProgress {
			want = "183 with its SDP then 200"
		}
		t.Errorf("in %d of %d calls the caller did not get %s:\n%s", len(wrong), callsAtOnce, want, strings.Join(wrong, "\n"))
	}
}

func statusLine(rs []*sip.Response) string {
	codes := make([]string, len(rs))
	for i, r := range rs {
		codes[i] = strconv.Itoa(r.StatusCode)
		if len(r.Body()) > 0 {
			codes[i] += " with a body"
		}
	}
	return "got [" + strings.Join(codes, ", ") + "]"
}

// call sends an INVITE with Call-ID id to uri and returns the responses to it above
// 100 up to the final one, in the order they came; it ACKs a 2xx along its
// Record-Route, and a non-2xx hop by hop.
func (c *rawCaller) call(uri, id string) ([]*sip.Response, error) {
	c.t.Helper()
	local := c.conn.LocalAddr().String()
	branch := fmt.Sprintf("z9hG4bK-order%d", time.Now().UnixNano())
	from := fmt.Sprintf("<sip:caller@example.org>;tag=order%d", time.Now().UnixNano())
	body := "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
	invite := fmt.Sprintf("INVITE %[1]s SIP/2.0\r\nVia: SIP/2.0/UDP %[2]s;branch=%[3]s;rport\r\n"+
		"From: %[4]s\r\nTo: <%[1]s>\r\nCall-ID: %[5]s\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@%[2]s>\r\n"+
		"Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %[6]d\r\n\r\n%[7]s",
		uri, local, branch, from, id, len(body), body)
	if _, err := c.conn.WriteTo([]byte(invite), c.to); err != nil {
		c.t.Fatalf("sending an INVITE: %v", err)
	}
	var got []*sip.Response
	buf := make([]byte, 65535)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			return nil, fmt.Errorf("INVITE %s: no final response (%s so far): %w", id, statusLine(got), err)
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			c.t.Fatalf("parsing what the caller got: %v", err)
		}
		res, ok := msg.(*sip.Response)
		// A 200 of an earlier call, retransmitted, is not this INVITE's.
		if !ok || branchOf(res) != branch || res.StatusCode == sip.StatusTrying {
			continue
		}
		got = append(got, res)
		if res.IsProvisional() {
			continue
		}
		if res.IsSuccess() {
			c.ackAnswer(res, from)
		} else {
			c.ackFinal(res)
		}
		return got, nil
	}
}

// ackAnswer ACKs a 2xx: a request of the dialog, to its Contact along the route set
// (the Record-Route, reversed: RFC 3261 §12.1.2).
func (c *rawCaller) ackAnswer(res *sip.Response, from string) {
	c.t.Helper()
	var routes []string
	for _, h := range res.GetHeaders("Record-Route") {
		routes = append(routes, "Route: "+h.Value()+"\r\n")
	}
	slices.Reverse(routes)
	contact := res.Contact()
	if contact == nil {
		c.t.Fatalf("a %d without Contact", res.StatusCode)
	}
	ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack%d;rport\r\n%sFrom: %s\r\n%s\r\n%s\r\n"+
		"CSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		contact.Address.String(), c.conn.LocalAddr().String(), time.Now().UnixNano(), strings.Join(routes, ""),
		from, res.To().String(), res.CallID().String(), res.CSeq().SeqNo)
	if _, err := c.conn.WriteTo([]byte(ack), c.to); err != nil {
		c.t.Fatalf("sending ACK: %v", err)
	}
}
