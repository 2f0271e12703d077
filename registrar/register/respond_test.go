package register

import (
	"regexp"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// responseCases are REGISTERs whose responses must carry what RFC 3261 §8.2.6 and
// RFC 3581 ask, exactly as sipgo's NewResponseFromRequest renders it.
var responseCases = []struct{ name, raw string }{
	{"rport asked", "REGISTER sip:" + testDomain + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa;rport\r\n" +
		"Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKb;received=198.51.100.9\r\n" +
		"From: \"Alice\" <sip:1001@" + testDomain + ">;tag=f1\r\n" +
		"To: \"Alice\" <sip:1001@" + testDomain + ";user=phone>\r\n" +
		"Call-ID: c1@192.0.2.10\r\nCSeq: 7 REGISTER\r\nContent-Length: 0\r\n\r\n"},
	{"rport not asked", "REGISTER sip:" + testDomain + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa\r\n" +
		"From: <sip:1001@" + testDomain + ">;tag=f1\r\nTo: <sip:1001@" + testDomain + ">;x=y\r\n" +
		"Call-ID: c2\r\nCSeq: 1 REGISTER\r\n\r\n"},
	{"rport with a value", "REGISTER sip:" + testDomain + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa;rport=5062\r\n" +
		"From: <sip:1001@" + testDomain + ">;tag=f1\r\nTo: <sip:1001@" + testDomain + ">\r\n" +
		"Call-ID: c3\r\nCSeq: 1 REGISTER\r\n\r\n"},
	{"To with a tag", "REGISTER sip:" + testDomain + " SIP/2.0\r\n" +
		"v: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bKa;rport\r\n" +
		"f: <sip:1001@" + testDomain + ">;tag=f1\r\nt: <sip:1001@" + testDomain + ">;tag=t1\r\n" +
		"i: c4\r\nCSeq: 1 REGISTER\r\nl: 0\r\n\r\n"},
}

var toTagParam = regexp.MustCompile(`(?m)^(To: .*;tag=)[^;\r]*`)

func TestRespondAnswersAsSipgoDoes(t *testing.T) {
	for _, c := range responseCases {
		t.Run(c.name, func(t *testing.T) {
			req := parseRequest(t, []byte(c.raw), testSource, "UDP")
			before := req.String()
			got := respond(req, sip.StatusOK, "OK")
			want := sip.NewResponseFromRequest(parseRequest(t, []byte(c.raw), testSource, "UDP"), sip.StatusOK, "OK", nil)

			// The tag is ours by design (TestToTag); everything else is sipgo's.
			g, w := toTagParam.ReplaceAllString(got.String(), "${1}T"), toTagParam.ReplaceAllString(want.String(), "${1}T")
			if strings.Contains(c.raw, "tag=t1") {
				g, w = got.String(), want.String()
			}
			if g != w {
				t.Errorf("response differs from sipgo's:\n got: %q\nwant: %q", g, w)
			}
			if got.Transport() != want.Transport() || got.Destination() != want.Destination() {
				t.Errorf("sent over %s to %s, sipgo: %s to %s", got.Transport(), got.Destination(), want.Transport(), want.Destination())
			}
			// The response shares the headers it does not change: they must not
			// change under the request.
			if after := req.String(); after != before {
				t.Errorf("building the response changed the request:\nbefore: %q\n after: %q", before, after)
			}
		})
	}
}

func TestToTag(t *testing.T) {
	raw := responseCases[0].raw
	tagOf := func(raw string) string {
		t.Helper()
		res := respond(parseRequest(t, []byte(raw), testSource, "UDP"), sip.StatusOK, "OK")
		tag, ok := res.To().Params.Get("tag")
		if !ok || len(tag) < 8 {
			t.Fatalf("To of the response has no tag of 32 bits or more: %q", tag)
		}
		return tag
	}
	first := tagOf(raw)
	if again := tagOf(raw); again != first {
		t.Errorf("a retransmission got tag %q, the first copy %q (RFC 3261 §8.2.7)", again, first)
	}
	for _, other := range []struct{ name, old, new string }{
		{"another Call-ID", "c1@", "c9@"},
		{"another From tag", "tag=f1", "tag=f2"},
		{"another CSeq", "CSeq: 7", "CSeq: 8"},
		{"another branch", "z9hG4bKa", "z9hG4bKz"},
	} {
		if tag := tagOf(strings.Replace(raw, other.old, other.new, 1)); tag == first {
			t.Errorf("%s: same tag %q as the first request", other.name, tag)
		}
	}
}

// BenchmarkRespond builds the 200 OK's copied headers, as sipgo and as we do.
func BenchmarkRespond(b *testing.B) {
	req := parseRequest(b, []byte(responseCases[0].raw), testSource, "UDP")
	for _, r := range []struct {
		name    string
		respond func() *sip.Response
	}{
		{"ours", func() *sip.Response { return respond(req, sip.StatusOK, "OK") }},
		{"sipgo", func() *sip.Response { return sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil) }},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.respond()
			}
		})
	}
}

// TestRespondAllocatesTwice holds respond to two allocations whatever it copies (a
// top Via asking rport, a To without a tag): the response with its own headers, and
// its header list (seven before: the response, its list, the Via and To copies, the
// tag's text and Content-Length on their own).
func TestRespondAllocatesTwice(t *testing.T) {
	for _, c := range []struct{ name, raw, src string }{
		{"rport asked", responseCases[0].raw, testSource},
		// received without rport: a sent-by other than the source (RFC 3261 §18.2.1).
		{"behind a NAT", strings.Replace(responseCases[0].raw, ";rport", "", 1), "203.0.113.7:40112"},
	} {
		req := parseRequest(t, []byte(c.raw), c.src, "UDP")
		allocs := testing.AllocsPerRun(100, func() { respond(req, sip.StatusProxyAuthRequired, "Proxy Authentication Required") })
		if allocs > 2 {
			t.Errorf("%s: respond allocates %v times, want at most 2", c.name, allocs)
		}
	}
}
