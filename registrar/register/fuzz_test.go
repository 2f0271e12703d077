package register

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
	"github.com/voipbin/registrar-operator/registrar/location"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// fuzzCodes are the status codes the handler may answer with.
var fuzzCodes = map[int]bool{
	sip.StatusOK:                  true,
	sip.StatusBadRequest:          true,
	sip.StatusUnauthorized:        true,
	sip.StatusForbidden:           true,
	sip.StatusNotFound:            true,
	sip.StatusProxyAuthRequired:   true,
	420:                           true,
	sip.StatusIntervalToBrief:     true,
	sip.StatusInternalServerError: true,
	sip.StatusVersionNotSupported: true,
}

const (
	fuzzSource  = "198.51.100.66:5060"
	probeSource = "192.0.2.200:5060"
)

// fuzzDirectory serves testDomain (407, MD5) and example.com, the RFC 4475 messages'
// domain (401, SHA-256 then MD5, Reject at one contact), so that the torture
// messages get past the domain check.
func fuzzDirectory() *directory.Static {
	acme := newDomain(testDomain)
	ex := newDomain("example.com", func(c *published.DomainConfig) {
		c.Challenge = sipv1.ChallengeWWWAuthenticate
		c.Algorithms = []sipv1.DigestAlgorithm{sipv1.DigestSHA256, sipv1.DigestMD5}
		c.OnMaxContacts, c.MaxContacts = sipv1.Reject, 1
	})
	dir := &directory.Static{
		Domains:     map[string]*directory.Domain{testDomain: acme, "example.com": ex},
		Credentials: map[string]*directory.Credential{},
	}
	for _, c := range []*directory.Credential{
		newCredential(acme, testUser, testPassword, 0),
		newCredential(acme, "1002", "another password", 5),
		newCredential(ex, "j.user", testPassword, 0),
		newCredential(ex, "user", testPassword, 0),
	} {
		dir.Credentials[c.AOR] = c
	}
	return dir
}

// newFuzzHandler is a fresh replica at t0 signing with testKey, so the nonces in
// the seeds are valid and every input is judged from the same state (a crasher
// reproduces on its own). One input can make at most one failure, below the
// throttles' threshold, so a block never hides a bug.
func newFuzzHandler(dir *directory.Static) *Handler {
	cfg := throttle.Config{MaxFailures: 2, Window: 20 * time.Second, BlockFor: time.Minute, Capacity: 64}
	table := location.New(1, nil)
	return New(Config{
		Directory: dir,
		Table:     table,
		Nonces:    digest.NewNonceSigner(testKey, 0),
		Counts:    digest.NewNonceCounts(64, 0),
		Guard:     &guard.Guard{BySource: throttle.New(cfg), ByAOR: throttle.New(cfg), Bindings: table},
		Now:       func() time.Time { return t0 },
	})
}

// fuzzSeeds are REGISTERs for the fuzzer to start from: valid ones, signed with a
// nonce the fuzz registrar accepts, and hostile variants.
func fuzzSeeds(tb testing.TB) [][]byte {
	signer := digest.NewNonceSigner(testKey, 0)
	nonce := signer.Issue(testDomain, t0)
	base := msg{
		ruri: "sip:" + testDomain, to: "<sip:1001@" + testDomain + ">", from: "<sip:1001@" + testDomain + ">",
		callID: "seed@192.0.2.10", cseq: 7, contacts: []string{"<sip:1001@192.0.2.10:5062;transport=udp>"},
		src: testSource, transport: "UDP",
	}
	signed := func(m msg, alg sipv1.DigestAlgorithm, header string) []byte {
		ch := challenge{realm: testDomain, nonce: nonce, algorithm: alg}
		c := answer(ch, "1001", testPassword, "sip:"+testDomain, 1, "0a4f113b")
		m.extra = append(m.extra, header+": "+string(c.AppendTo(nil)))
		return m.bytes()
	}
	with := func(f func(*msg)) msg {
		m := base
		m.contacts = append([]string(nil), base.contacts...)
		f(&m)
		return m
	}
	seeds := [][]byte{
		base.bytes(),
		signed(base, sipv1.DigestMD5, "Proxy-Authorization"),
		signed(base, sipv1.DigestMD5, "Authorization"),
		signed(with(func(m *msg) { m.expires = "600" }), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) { m.contacts, m.expires = []string{"*"}, "0" }), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) { m.contacts = []string{"*", "<sip:1001@192.0.2.11>"} }), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) { m.contacts = nil }), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) {
			m.contacts = []string{
				"<sip:1001@192.0.2.11>;expires=0", `"Desk" <sip:1001@192.0.2.12:5070;ob>;Expires=4294967295;+sip.instance="<urn:uuid:1>"`,
				"sip:1001@192.0.2.13;expires=30", "<sips:1001@[2001:db8::1]:5061;transport=tls>;q=0.7",
			}
		}), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) { m.expires = "4294967296" }), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) { m.contacts = []string{"<sip:1001@192.0.2.10>;expires=x"} }), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) { m.cseq = 0 }), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) { m.to = "<sip:1002@" + testDomain + ">" }), sipv1.DigestMD5, "Proxy-Authorization"),
		signed(with(func(m *msg) { m.ruri = "sip:" + testDomain + ";transport=tcp" }), sipv1.DigestSHA256, "Proxy-Authorization"),
		with(func(m *msg) { m.extra = []string{"Require: foo, bar"} }).bytes(),
		with(func(m *msg) {
			m.extra = []string{"Proxy-Authorization: Digest username=\"1001\", realm=\"" + testDomain + "\", nonce=\"" + nonce + "\", uri=\"sip:" + testDomain + "\", response=\"" + strings.Repeat("0", 32) + "\", qop=auth, nc=00000001, cnonce=\"x\""}
		}).bytes(),
		with(func(m *msg) { m.extra = []string{"Authorization: Digest " + strings.Repeat("a=b, ", 900)} }).bytes(),
		with(func(m *msg) { m.extra = []string{`Authorization: Digest username="1001\"`} }).bytes(),
		with(func(m *msg) { m.to = "<sip:" + testDomain + ">" }).bytes(),
		with(func(m *msg) { m.ruri = "sip:unknown.example" }).bytes(),
		[]byte("REGISTER sip:" + testDomain + " SIP/2.0\r\nv: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bKc\r\nf: <sip:1001@" + testDomain + ">;tag=1\r\nt: <sip:1001@" + testDomain + ">\r\ni: compact\r\nCSeq: 1 REGISTER\r\nm: *\r\nExpires: 0\r\nl: 0\r\n\r\n"),
	}
	for _, dir := range []string{"valid", "invalid"} {
		files, err := filepath.Glob(filepath.Join("testdata", "torture", dir, "*.dat"))
		if err != nil || len(files) == 0 {
			tb.Fatalf("no torture messages in testdata/torture/%s: %v", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// probe registers testUser from its own address with a new Call-ID, answering the
// challenge as a device does; it fails unless the registrar answers 200.
func probe(t *testing.T, reg *Handler, n int) {
	t.Helper()
	m := msg{
		ruri: "sip:" + testDomain, to: "<sip:1001@" + testDomain + ">", from: "<sip:1001@" + testDomain + ">",
		callID: "probe-" + strconv.Itoa(n) + "@192.0.2.200", cseq: 1,
		contacts: []string{"<sip:1001@192.0.2.200:5060>"}, src: probeSource, transport: "UDP",
	}
	res := reg.Handle(m.request(t))
	if res.StatusCode != sip.StatusProxyAuthRequired {
		t.Fatalf("probe: %d %s, want a challenge", res.StatusCode, res.Reason)
	}
	ch := parseChallengeValue(t, "Proxy-Authenticate", res.GetHeader("Proxy-Authenticate").Value())
	m.cseq++
	c := answer(ch, testUser, testPassword, m.ruri, 1, "probe")
	m.extra = []string{"Proxy-Authorization: " + string(c.AppendTo(nil))}
	if res = reg.Handle(m.request(t)); res.StatusCode != sip.StatusOK {
		t.Fatalf("probe: the registrar stopped working: %d %s\n%s", res.StatusCode, res.Reason, res)
	}
}

func FuzzHandleRegister(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	dir := fuzzDirectory()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := sip.NewParser().ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := m.(*sip.Request)
		if !ok {
			return
		}
		req.SetSource(fuzzSource)
		req.SetTransport("UDP")

		reg := newFuzzHandler(dir)
		// Something for removals, queries and the contact limit to act on.
		setup := newFuzzDevice(t, reg)
		if res := setup(); res.StatusCode != sip.StatusOK {
			t.Fatalf("setup: %d %s", res.StatusCode, res.Reason)
		}

		res := reg.Handle(req)
		if res == nil {
			t.Fatal("nil response")
		}
		if !fuzzCodes[res.StatusCode] {
			t.Fatalf("unexpected status %d %s\n%s", res.StatusCode, res.Reason, res)
		}
		if res.StatusCode == sip.StatusOK {
			if res.GetHeader("Date") == nil {
				t.Fatalf("200 without Date\n%s", res)
			}
			// Over UDP a Contact is only added while the response stays within the
			// limit; copied headers alone may pass it, and then none is listed.
			if size := len(res.String()); size > maxUDPResponse && res.GetHeader("Contact") != nil {
				t.Fatalf("200 OK over UDP of %d bytes lists contacts\n%s", size, res)
			}
		}
		probe(t, reg, 1)
		probe(t, reg, 2) // and again, over the first probe's binding
	})
}

// newFuzzDevice returns a function registering 1002 (two contacts) on reg.
func newFuzzDevice(t *testing.T, reg *Handler) func() *sip.Response {
	return func() *sip.Response {
		m := msg{
			ruri: "sip:" + testDomain, to: "<sip:1002@" + testDomain + ">", from: "<sip:1002@" + testDomain + ">",
			callID: "setup@192.0.2.30", cseq: 1,
			contacts: []string{"<sip:1002@192.0.2.30:5060>", "<sip:1002@192.0.2.31:5060>;expires=120"},
			src:      "192.0.2.30:5060", transport: "UDP",
		}
		ch := parseChallengeValue(t, "Proxy-Authenticate", reg.Handle(m.request(t)).GetHeader("Proxy-Authenticate").Value())
		m.cseq++
		c := answer(ch, "1002", "another password", m.ruri, 1, "setup")
		m.extra = []string{"Proxy-Authorization: " + string(c.AppendTo(nil))}
		return reg.Handle(m.request(t))
	}
}

func FuzzParseExpires(f *testing.F) {
	for _, s := range []string{"", "0", "60", " 3600 ", "4294967295", "4294967296", "-1", "+1", "1.5", "0x10", "1e3", "٣", "00000000001", "\t7\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n := parseExpires(v, true)
		if n < 0 || n > maxExpiresValue {
			t.Fatalf("parseExpires(%q) = %d, out of range", v, n)
		}
		digits := strings.TrimSpace(v)
		if digits == "" || strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
			if n != malformedExpires {
				t.Fatalf("parseExpires(%q) = %d, want %d for a malformed value", v, n, malformedExpires)
			}
			return
		}
		if want, err := strconv.ParseUint(digits, 10, 64); err != nil || want > maxExpiresValue {
			if n != maxExpiresValue {
				t.Fatalf("parseExpires(%q) = %d, want the most, %d", v, n, maxExpiresValue)
			}
		} else if int64(want) != n {
			t.Fatalf("parseExpires(%q) = %d, want %d", v, n, want)
		}
	})
}
