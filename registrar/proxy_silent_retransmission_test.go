package registrar_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A MESSAGE no device answers ends with no final response at Timer F (RFC 4320
// §4.2), and sipgo forgets its server transaction. A client whose T1 is longer
// than ours still retransmits it after that: the registrar absorbs that copy
// (counted as a retransmission) and does not fork it again, so the device gets
// no second MESSAGE and the caller no answer.
func TestProxyAbsorbsALateRetransmissionOfASilentMessage(t *testing.T) {
	tn := newTenant(t, "1001")
	metrics := "127.0.0.1:" + strconv.Itoa(freePort(t))
	r := startExtraReplica(t, "replica-silent", "127.0.0.1", tn, func(c *registrar.Config) { c.MetricsAddress = metrics })
	dev := newDevice(t, tn, r, false)
	routable(t, r, tn, 1)
	caller := newCaller(t, r)
	msg := caller.Request(sip.MESSAGE, "sip:"+tn.aor(), "hello")
	caller.Send(msg)
	fork := dev.Expect(sip.MESSAGE) // and never answered

	const ended = `sip_proxy_requests_total{method="MESSAGE",outcome="timeout"} 1`
	if err := testenv.Eventually(sip.Timer_F+wait, func() error { return metricHas(metrics, ended) }); err != nil {
		t.Fatalf("the MESSAGE did not end unanswered: %v", err)
	}
	caller.Send(msg) // the late retransmission: the same Via branch and sent-by

	const absorbed = `sip_proxy_requests_total{method="MESSAGE",outcome="retransmission"} 1`
	eventually(t, "the retransmission is absorbed", func() error {
		noSecondFork(t, dev, fork)
		return metricHas(metrics, absorbed)
	})
	noSecondFork(t, dev, fork) // what came before the count
	if m, err := caller.Next(10 * time.Millisecond); err == nil {
		t.Errorf("the caller got:\n%s", m.Raw)
	}
}

// noSecondFork fails the test when the device has received a request other than
// a retransmission of fork, our first and only copy.
func noSecondFork(t *testing.T, dev *siptest.Phone, fork siptest.Received) {
	t.Helper()
	for {
		req, err := dev.NextRequest(10 * time.Millisecond)
		if err != nil {
			return
		}
		if !siptest.IsRetransmission(req.Request, fork) {
			t.Fatalf("the registrar forked the MESSAGE again; the device got:\n%s", req.Request)
		}
	}
}

// metricHas reports whether the /metrics served at addr has line.
func metricHas(addr, line string) error {
	body, err := scrape(addr)
	if err != nil {
		return err
	}
	for l := range strings.SplitSeq(body, "\n") {
		if l == line {
			return nil
		}
	}
	return errStill
}
