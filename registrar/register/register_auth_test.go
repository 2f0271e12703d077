// REGISTER digest authentication: challenges, accepted and refused credentials, digest URI.

package register

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
)

// §10.3 step 3: no credentials is answered with a challenge, qop="auth" and one
// fresh nonce: one header, the Domain's preferred algorithm, unless the Extension
// names its own (then one header each, its preferred first, as RFC 8760 has it).
// Clients that read only the first header, or give up on one they cannot compute,
// must get MD5 alone from a Domain that offers MD5 first.
func TestNoCredentialsIsChallenged(t *testing.T) {
	md5, sha := sipv1.DigestMD5, sipv1.DigestSHA256
	type algs = []sipv1.DigestAlgorithm
	for _, tc := range []struct {
		name   string
		style  sipv1.ChallengeStyle
		algs   algs // the Domain's
		own    algs // the Extension's
		code   int
		header string
		want   algs
	}{
		{"default: 407, MD5 only", sipv1.ChallengeProxyAuthenticate, algs{md5}, nil, 407, "Proxy-Authenticate", algs{md5}},
		{"no algorithms published: MD5", "", nil, nil, 407, "Proxy-Authenticate", algs{md5}},
		{"MD5 and SHA-256 offered: MD5 alone", sipv1.ChallengeProxyAuthenticate, algs{md5, sha}, nil, 407, "Proxy-Authenticate", algs{md5}},
		{"SHA-256 preferred: SHA-256 alone", sipv1.ChallengeProxyAuthenticate, algs{sha, md5}, nil, 407, "Proxy-Authenticate", algs{sha}},
		{"extension for SHA-256: SHA-256 alone", sipv1.ChallengeProxyAuthenticate, algs{md5, sha}, algs{sha}, 407, "Proxy-Authenticate", algs{sha}},
		{"old extension in a SHA-256 domain: MD5", sipv1.ChallengeProxyAuthenticate, algs{sha, md5}, algs{md5}, 407, "Proxy-Authenticate", algs{md5}},
		{"extension picking among both: both, its order", sipv1.ChallengeProxyAuthenticate, algs{md5, sha}, algs{sha, md5}, 407, "Proxy-Authenticate", algs{sha, md5}},
		{"extension's algorithm not offered: the domain's", sipv1.ChallengeProxyAuthenticate, algs{md5}, algs{sha}, 407, "Proxy-Authenticate", algs{md5}},
		{"WWWAuthenticate: 401", sipv1.ChallengeWWWAuthenticate, algs{md5}, nil, 401, "WWW-Authenticate", algs{md5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.dom.Challenge, e.dom.Algorithms = tc.style, tc.algs
			e.dir.Credentials[testUser+"@"+testDomain].Algorithms = tc.own
			d := e.device(testUser, testPassword)
			res := d.send(d.next())
			mustStatus(t, res, tc.code, "")
			for _, other := range []string{"Proxy-Authenticate", "WWW-Authenticate"} {
				if other != tc.header && res.GetHeader(other) != nil {
					t.Errorf("%d carries %s too", tc.code, other)
				}
			}
			chs := challenges(t, res)
			var got []sipv1.DigestAlgorithm
			for _, ch := range chs {
				got = append(got, ch.algorithm)
				if ch.header != tc.header || ch.realm != testDomain || ch.qop != "auth" || ch.stale {
					t.Errorf("challenge %+v: want %s, realm %s, qop auth, no stale", ch, tc.header, testDomain)
				}
				if ch.nonce == "" || ch.nonce != chs[0].nonce {
					t.Errorf("nonces %q and %q: want one non-empty nonce for all", ch.nonce, chs[0].nonce)
				}
				if err := e.nonces.Check(ch.nonce, testDomain, e.now); err != nil {
					t.Errorf("nonce does not check: %v", err)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("algorithms %v, want %v", got, tc.want)
			}
			if res.GetHeader("Contact") != nil {
				t.Error("a challenge lists contacts")
			}
			if n := len(e.bindings(testUser)); n != 0 {
				t.Errorf("%d bindings after a challenge", n)
			}
			// A second challenge carries a fresh nonce.
			if again := challenges(t, d.send(d.next())); again[0].nonce == chs[0].nonce {
				t.Error("two challenges share a nonce")
			}
		})
	}
}

// Devices answer in Authorization or Proxy-Authorization whatever the challenge style.
func TestCredentialsAreAcceptedInEitherHeader(t *testing.T) {
	for _, style := range []sipv1.ChallengeStyle{sipv1.ChallengeProxyAuthenticate, sipv1.ChallengeWWWAuthenticate} {
		for _, header := range []string{"Authorization", "Proxy-Authorization"} {
			t.Run(string(style)+"/"+header, func(t *testing.T) {
				e := newEnv(t)
				e.dom.Challenge = style
				d := e.device(testUser, testPassword)
				d.authHeader = header
				mustStatus(t, d.register(nil), sip.StatusOK, "OK")
			})
		}
	}
}

// The right password registers: 200 with the binding as Contact;expires=N and a
// Date header (§10.3 step 9), for each algorithm the domain offers.
func TestRightPasswordIs200WithContactExpiresAndDate(t *testing.T) {
	for _, alg := range []sipv1.DigestAlgorithm{sipv1.DigestMD5, sipv1.DigestSHA256} {
		t.Run(string(alg), func(t *testing.T) {
			e := newEnv(t)
			e.dom.Algorithms = []sipv1.DigestAlgorithm{sipv1.DigestSHA256, sipv1.DigestMD5}
			e.dir.Credentials[testUser+"@"+testDomain].Algorithms = []sipv1.DigestAlgorithm{alg}
			d := e.device(testUser, testPassword)
			d.alg = alg
			res := d.register(nil)
			mustStatus(t, res, sip.StatusOK, "OK")
			if d.ch.algorithm != alg {
				t.Fatalf("answered %s, want %s", d.ch.algorithm, alg)
			}
			want := []string{"<sip:1001@192.0.2.10:5062;transport=udp>;expires=3600"}
			if got := contactValues(res); !slices.Equal(got, want) {
				t.Errorf("Contact %q, want %q", got, want)
			}
			date := res.GetHeader("Date")
			if date == nil {
				t.Fatal("no Date header")
			}
			if got, err := http.ParseTime(date.Value()); err != nil || !got.Equal(e.now) || !strings.HasSuffix(date.Value(), " GMT") {
				t.Errorf("Date %q (%v), want %v in GMT", date.Value(), err, e.now)
			}
			if tag, ok := res.To().Params.Get("tag"); !ok || tag == "" {
				t.Error("To of the 200 has no tag")
			}
			if res.CSeq().SeqNo != d.cseq || res.CallID().Value() != d.callID {
				t.Error("CSeq or Call-ID not echoed")
			}
			if rport, _ := res.Via().Params.Get("rport"); rport != "5062" {
				t.Errorf("Via rport=%q, want the source port", rport)
			}
			if e.obs.lastOutcome() != OutcomeRegistered {
				t.Errorf("outcome %q", e.obs.lastOutcome())
			}
		})
	}
}

// Every refused credential is answered alike, 403 Forbidden with the same headers,
// so that a wrong password does not tell an unknown extension apart (no enumeration),
// and a device may not register another extension's AOR with its own password.
func TestWrongCredentialsAre403AndLookAlike(t *testing.T) {
	type run struct {
		name                     string
		toUser, authUser, passwd string
	}
	runs := []run{
		{"wrong password", testUser, "", "guess"},
		{"unknown extension", "9999", "", "guess"},
		{"digest username is not the To user", testUser, "1002", "another password"},
		{"right password, username of another extension", "1002", testUser, testPassword},
	}
	var first *sip.Response
	for _, tc := range runs {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(tc.toUser, tc.passwd)
			d.authUser = tc.authUser
			res := d.register(nil)
			mustStatus(t, res, sip.StatusForbidden, "Forbidden")
			if first == nil {
				first = res
			} else if got, want := headerNames(res), headerNames(first); !slices.Equal(got, want) {
				t.Errorf("headers %v, want %v as for a wrong password", got, want)
			}
			if res.GetHeader("Proxy-Authenticate") != nil || res.GetHeader("Retry-After") != nil {
				t.Errorf("403 carries a challenge or Retry-After:\n%s", res)
			}
			if n := len(e.table.Lookup(tc.toUser+"@"+testDomain, e.now)); n != 0 {
				t.Errorf("%d bindings after a 403", n)
			}
		})
	}
}

// Credentials for another realm are answered with a challenge for ours (RFC 3261
// §22.3); they are not counted as a failure.
func TestCredentialsForAnotherRealmAreChallengedAfresh(t *testing.T) {
	e := newEnv(t)
	e.throttle(1, 1) // one failure would block
	// A device of the other domain answers that domain's challenge, to the wrong domain.
	other := e.device("1001", "globex password")
	other.uri = "sip:" + otherDomain
	m := other.next()
	m.ruri, m.to, m.from = "sip:"+otherDomain, "<sip:1001@"+otherDomain+">", "<sip:1001@"+otherDomain+">"
	mustStatus(t, other.send(m), sip.StatusProxyAuthRequired, "")

	d := e.device(testUser, testPassword)
	d.ch, d.uri = other.ch, "sip:"+otherDomain // answers globex's challenge
	m = d.next()
	m.ruri = "sip:" + testDomain
	d.sign(&m)
	res := d.send(m)
	mustStatus(t, res, sip.StatusProxyAuthRequired, "")
	if ch := challenges(t, res)[0]; ch.realm != testDomain || ch.stale {
		t.Errorf("challenge %+v, want realm %s without stale", ch, testDomain)
	}
	// Not a failure: the right answer still goes through.
	d.uri = "sip:" + testDomain
	mustStatus(t, d.register(nil), sip.StatusOK, "")
}

// A request may carry answers for several realms; the one for ours counts.
func TestCredentialsForOurRealmArePickedAmongSeveral(t *testing.T) {
	e := newEnv(t)
	d := e.device(testUser, testPassword)
	d.send(d.next())
	m := d.next()
	foreign := digest.Credentials{Username: "x", Realm: "upstream.example.net", Nonce: "n", URI: "sip:upstream.example.net", Response: "00"}
	m.extra = append(m.extra, "Authorization: "+string(foreign.AppendTo(nil)), "Authorization: Basic eDp5")
	d.sign(&m)
	mustStatus(t, d.send(m), sip.StatusOK, "")
}

// A digest answer computed for another Request-URI is refused (RFC 7616 §3.4.6), by
// the rule of digest.URIMatches: what the digest URI names must be the Request-URI's.
func TestDigestURIOfAnotherTargetIs400(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		code int
	}{
		{"sip:" + testDomain, sip.StatusOK},
		{"sip:" + strings.ToUpper(testDomain) + ":5060;transport=udp", sip.StatusOK},
		{"sips:" + testDomain, sip.StatusOK},
		{"sip:" + otherDomain, sip.StatusBadRequest},
		{"sip:192.0.2.99", sip.StatusBadRequest},
		{"tel:+15551234", sip.StatusBadRequest},
		// The Request-URI names no user and no port: an answer computed for one is
		// for another target.
		{"sips:1001@" + testDomain, sip.StatusBadRequest},
		{"sip:" + testDomain + ":5070", sip.StatusBadRequest},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.send(d.next())
			d.uri = tc.uri // signs this uri; the Request-URI stays the domain
			m := d.next()
			m.ruri = "sip:" + testDomain
			d.sign(&m)
			mustStatus(t, d.send(m), tc.code, "")
		})
	}
}

// Credentials that are not Digest earn a challenge; a broken Digest header is 400.
func TestCredentialsOfAnotherSchemeOrMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		code         int
	}{
		{"Basic", "Authorization: Basic MTAwMTpzZWNyZXQ=", sip.StatusProxyAuthRequired},
		{"unknown scheme", "Authorization: NoOneKnowsThisScheme opaque-data=here", sip.StatusProxyAuthRequired},
		{"unterminated quote", `Proxy-Authorization: Digest username="1001, realm="x"`, sip.StatusBadRequest},
		{"missing response", `Proxy-Authorization: Digest username="1001", realm="` + testDomain + `", nonce="n", uri="sip:` + testDomain + `"`, sip.StatusBadRequest},
		{"MD5-sess", `Proxy-Authorization: Digest username="1001", realm="` + testDomain + `", nonce="n", uri="sip:` + testDomain + `", response="00", algorithm=MD5-sess`, sip.StatusProxyAuthRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			m := d.next()
			m.extra = []string{tc.header}
			mustStatus(t, d.send(m), tc.code, "")
		})
	}
}
