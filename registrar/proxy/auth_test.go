package proxy

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// countingObserver records the throttle kinds the proxy reports.
type countingObserver struct {
	nopObserver
	throttled map[string]int
}

func (o *countingObserver) Throttled(kind string) { o.throttled[kind]++ }

// A caller the guard holds back gets 403 with Retry-After, counted by outcome and
// by the throttle that refused it, as a throttled REGISTER is.
func TestThrottledCallerIsRefusedAndCounted(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dom := directory.NewDomain(published.DomainConfig{Domain: "acme.example", Realm: "acme.example", Algorithms: []sipv1.DigestAlgorithm{sipv1.DigestMD5}})
	dir := &directory.Static{
		Domains: map[string]*directory.Domain{dom.Domain: dom},
		Credentials: map[string]*directory.Credential{"1001@acme.example": {
			Extension: "1001", Domain: dom.Domain, AOR: "1001@acme.example",
			HA1MD5: published.HA1(sipv1.DigestMD5, "1001", dom.Realm, "secret"),
		}},
	}
	g := &guard.Guard{BySource: throttle.New(throttle.Config{MaxFailures: 1, Window: time.Minute, BlockFor: time.Minute})}
	g.Failed("1001@acme.example", "192.0.2.1", now)
	obs := &countingObserver{throttled: map[string]int{}}
	p := New(Config{Directory: dir, Guard: g, Observer: obs, Now: func() time.Time { return now },
		Nonces: digest.NewNonceSigner([]byte("0123456789abcdef0123456789abcdef"), 0), Counts: digest.NewNonceCounts(64, 0)})

	m, err := sip.ParseMessage([]byte("INVITE sip:1002@acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\nFrom: <sip:1001@acme.example>;tag=a\r\n" +
		"To: <sip:1002@acme.example>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	req.SetSource("192.0.2.1:5060")
	res, outcome := p.authenticate(req, now.Add(time.Second))
	if res == nil || res.StatusCode != sip.StatusForbidden || outcome != OutcomeThrottled {
		t.Fatalf("got %v, outcome %q; want 403 and %q", res, outcome, OutcomeThrottled)
	}
	if h := res.GetHeader("Retry-After"); h == nil || h.Value() != "59" {
		t.Errorf("Retry-After %v, want 59", h)
	}
	if obs.throttled[guard.KindSource] != 1 {
		t.Errorf("throttles %v, want 1 of kind %s", obs.throttled, guard.KindSource)
	}
	req.SetSource("192.0.2.2:5060")
	if res, outcome = p.authenticate(req, now.Add(time.Second)); res == nil || res.StatusCode != sip.StatusProxyAuthRequired {
		t.Errorf("another address: got %v, outcome %q; want 407", res, outcome)
	}
}
