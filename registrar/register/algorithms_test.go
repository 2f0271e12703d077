package register

import (
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// clientKind is how a SIP stack in the field picks among challenge headers.
type clientKind struct {
	name string
	// pick returns the challenge the client answers, false when it gives up.
	pick func(chs []challenge) (challenge, bool)
}

var (
	// baresip 1.0 (libre): gives up when any header names an algorithm it cannot
	// compute, even with an MD5 one beside it ("Function not implemented").
	strictMD5Client = clientKind{"MD5 only, gives up on another header (baresip 1.0)", func(chs []challenge) (challenge, bool) {
		for _, ch := range chs {
			if ch.algorithm != sipv1.DigestMD5 {
				return challenge{}, false
			}
		}
		return chs[0], true
	}}
	// JsSIP and SIP.js: read the first header only, and compute MD5 only.
	firstHeaderClient = clientKind{"first header only, MD5 (JsSIP, SIP.js)", func(chs []challenge) (challenge, bool) {
		return chs[0], chs[0].algorithm == sipv1.DigestMD5
	}}
	// A device that computes SHA-256 (RFC 8760) and prefers it among several.
	sha256Client = clientKind{"prefers SHA-256 among several", func(chs []challenge) (challenge, bool) {
		for _, ch := range chs {
			if ch.algorithm == sipv1.DigestSHA256 {
				return ch, true
			}
		}
		return chs[0], true
	}}
)

// registerAs runs a registration through the sipgo handler as client kind would,
// each response recorded on a server transaction, and returns the last response
// and the algorithm the client answered with ("" when it gave up).
func registerAs(t *testing.T, e *env, kind clientKind, user, password string) (*sip.Response, sipv1.DigestAlgorithm) {
	t.Helper()
	d := e.device(user, password)
	send := func(m msg) *sip.Response { t.Helper(); return e.onRegister(t, m) }
	res := send(d.next())
	if !isChallenge(res) {
		t.Fatalf("first REGISTER got %d %s, want a challenge", res.StatusCode, res.Reason)
	}
	ch, ok := kind.pick(challenges(t, res))
	if !ok {
		return res, ""
	}
	d.ch = &ch
	m := d.next()
	d.sign(&m)
	return send(m), ch.algorithm
}

// A Domain offering MD5 and SHA-256 keeps every client working side by side: those
// that fail on several headers get MD5 alone, and an Extension set for SHA-256
// gets SHA-256. Before per-extension algorithms the challenge carried both headers
// and baresip 1.0 could not register.
func TestDomainWithMD5AndSHA256RegistersEveryKindOfClient(t *testing.T) {
	for _, tc := range []struct {
		kind clientKind
		own  []sipv1.DigestAlgorithm // the Extension's algorithms
		want sipv1.DigestAlgorithm
	}{
		{strictMD5Client, nil, sipv1.DigestMD5},
		{firstHeaderClient, nil, sipv1.DigestMD5},
		{sha256Client, []sipv1.DigestAlgorithm{sipv1.DigestSHA256}, sipv1.DigestSHA256},
	} {
		t.Run(tc.kind.name, func(t *testing.T) {
			e := newEnv(t)
			e.dom.Algorithms = []sipv1.DigestAlgorithm{sipv1.DigestMD5, sipv1.DigestSHA256}
			e.dir.Credentials[testUser+"@"+testDomain].Algorithms = tc.own
			res, alg := registerAs(t, e, tc.kind, testUser, testPassword)
			if alg == "" {
				t.Fatalf("the client gave up on the challenge:\n%s", res)
			}
			mustStatus(t, res, sip.StatusOK, "OK")
			if alg != tc.want {
				t.Errorf("answered with %s, want %s", alg, tc.want)
			}
		})
	}
}

// An Extension set for SHA-256 accepts only SHA-256 answers: an MD5 answer (a
// downgrade a forged challenge could bring about) is challenged again with SHA-256
// and binds nothing. An Extension without its own list accepts any algorithm of the
// Domain, so a device answering SHA-256 unprompted still registers.
func TestExtensionAlgorithmsDecideWhichAnswersCount(t *testing.T) {
	md5, sha := sipv1.DigestMD5, sipv1.DigestSHA256
	e := newEnv(t)
	e.dom.Algorithms = []sipv1.DigestAlgorithm{md5, sha}
	e.dir.Credentials[testUser+"@"+testDomain].Algorithms = []sipv1.DigestAlgorithm{sha}

	d := e.device(testUser, testPassword)
	d.send(d.next())
	forced := *d.ch
	forced.algorithm = md5
	d.ch = &forced
	m := d.next()
	d.sign(&m)
	res := d.send(m)
	mustStatus(t, res, sip.StatusProxyAuthRequired, "")
	var got []sipv1.DigestAlgorithm
	for _, ch := range challenges(t, res) {
		got = append(got, ch.algorithm)
	}
	if !slices.Equal(got, []sipv1.DigestAlgorithm{sha}) {
		t.Errorf("an MD5 answer was challenged with %v, want [SHA-256]", got)
	}
	if n := len(e.bindings(testUser)); n != 0 {
		t.Errorf("%d bindings after an MD5 answer from a SHA-256 extension", n)
	}

	other := e.device("1002", "another password")
	other.send(other.next())
	if other.ch.algorithm != md5 {
		t.Fatalf("extension without its own list challenged with %s, want MD5", other.ch.algorithm)
	}
	unprompted := *other.ch
	unprompted.algorithm = sha
	other.ch = &unprompted
	mustStatus(t, other.register(nil), sip.StatusOK, "OK")
}
