package registrar_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
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
	caller := newCaller(t, replicaA)
	var wrong []string
	for n := 1; n <= callsAtOnce; n++ {
		got, err := call(t, caller, "sip:"+tn.aor(), fmt.Sprintf("%d-%s", n, callID(t)))
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
func call(t *testing.T, c *siptest.Phone, uri, id string) ([]*sip.Response, error) {
	t.Helper()
	body := "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
	invite := c.Request(sip.INVITE, uri, body, "Call-ID: "+id)
	c.Send(invite)
	var got []*sip.Response
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := c.Next(time.Until(deadline))
		if err != nil {
			return nil, fmt.Errorf("INVITE %s: no final response (%s so far): %w", id, statusLine(got), err)
		}
		res, ok := m.Message.(*sip.Response)
		// A 200 of an earlier call, retransmitted, is not this INVITE's.
		if !ok || siptest.Branch(res) != siptest.Branch(invite) || res.StatusCode == sip.StatusTrying {
			continue
		}
		got = append(got, res)
		if res.IsProvisional() {
			continue
		}
		if res.IsSuccess() {
			c.Send(c.AckOf(res))
		} else {
			c.AckFinal(res)
		}
		return got, nil
	}
}
