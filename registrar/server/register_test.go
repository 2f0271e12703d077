package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// §10.3 step 1: the Request-URI must name a domain this registrar serves.
func TestRequestURIOfAnUnservedDomainIs404(t *testing.T) {
	for _, tc := range []struct {
		name, ruri string
		code       int
	}{
		{"unserved domain", "sip:unknown.registrar.voipbin.net", sip.StatusNotFound},
		{"the bare suffix", "sip:registrar.voipbin.net", sip.StatusNotFound},
		{"served domain in capitals is served", "sip:ACME.Registrar.VoIPbin.net", sip.StatusProxyAuthRequired},
		{"served domain", "sip:" + testDomain, sip.StatusProxyAuthRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			m := d.next()
			m.ruri = tc.ruri
			mustStatus(t, d.send(m), tc.code, "")
		})
	}
	t.Run("with right credentials too", func(t *testing.T) {
		e := newEnv(t)
		d := e.device(testUser, testPassword)
		d.register(nil)
		m := d.next()
		m.ruri = "sip:unknown.registrar.voipbin.net"
		d.sign(&m)
		mustStatus(t, d.send(m), sip.StatusNotFound, "")
	})
}

// §10.3 step 2: a Require header naming an extension we lack is 420 with Unsupported.
func TestRequireOfAnUnsupportedExtensionIs420WithUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name        string
		extra       []string
		code        int
		unsupported string
	}{
		{"one tag", []string{"Require: foo"}, 420, "foo"},
		{"every tag of every Require", []string{"Require: foo, path", "Require: bar"}, 420, "foo, path, bar"},
		{"Supported alone is fine", []string{"Supported: path, outbound"}, sip.StatusProxyAuthRequired, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			m := d.next()
			m.extra = tc.extra
			res := d.send(m)
			mustStatus(t, res, tc.code, "")
			if got := strings.Join(headerValues(res, "Unsupported"), ","); got != tc.unsupported {
				t.Errorf("Unsupported = %q, want %q", got, tc.unsupported)
			}
		})
	}
}

// §10.3 step 4: the To header must be an AOR of the Request-URI's domain.
func TestToThatIsNotAnAOROfTheDomainIs404(t *testing.T) {
	for _, tc := range []struct{ name, to string }{
		{"another host", "<sip:1001@" + otherDomain + ">"},
		{"an unserved host", "<sip:1001@example.com>"},
		{"no user", "<sip:" + testDomain + ">"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			m := d.next()
			m.to = tc.to
			mustStatus(t, d.send(m), sip.StatusNotFound, "Not Found")
			if n := len(e.bindings(testUser)); n != 0 {
				t.Fatalf("%d bindings after a 404", n)
			}
		})
	}
}

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
				if err := e.reg.Nonces.Check(ch.nonce, testDomain, e.now); err != nil {
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

// A nonce not signed with the cluster's key (or garbage) earns a new challenge,
// without stale=true: stale would tell the client to retry silently.
func TestNonceFromAnotherSignerIsChallengedWithoutStale(t *testing.T) {
	for _, tc := range []struct{ name, nonce string }{
		{"other key", digest.NewNonceSigner(otherKey, 0).Issue(testDomain, t0)},
		{"other realm", digest.NewNonceSigner(testKey, 0).Issue(otherDomain, t0)},
		{"garbage", "not-a-nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.ch = &challenge{realm: testDomain, nonce: tc.nonce, algorithm: sipv1.DigestMD5}
			m := d.next()
			d.sign(&m)
			res := d.send(m)
			mustStatus(t, res, sip.StatusProxyAuthRequired, "")
			if ch := challenges(t, res)[0]; ch.stale || ch.nonce == tc.nonce {
				t.Errorf("challenge %+v: want a new nonce without stale", ch)
			}
			if e.obs.failures["bad_nonce"] != 1 {
				t.Errorf("failures %v", e.obs.failures)
			}
		})
	}
}

// An expired nonce with the right password earns stale=true (retry without asking
// the user); with a wrong password it is 403, so stale does not confirm a guess.
func TestExpiredNonce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		password string
		code     int
		stale    bool
		outcome  string
	}{
		{"right password: 407 stale=true", testPassword, sip.StatusProxyAuthRequired, true, OutcomeStaleNonce},
		{"wrong password: 403", "guess", sip.StatusForbidden, false, OutcomeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, tc.password)
			d.send(d.next())
			old := d.ch.nonce
			e.advance(digest.DefaultNonceLifetime + time.Second)
			m := d.next()
			d.sign(&m)
			res := d.send(m)
			mustStatus(t, res, tc.code, "")
			if e.obs.lastOutcome() != tc.outcome {
				t.Errorf("outcome %q, want %q", e.obs.lastOutcome(), tc.outcome)
			}
			if !tc.stale {
				return
			}
			ch := challenges(t, res)[0]
			if !ch.stale || ch.nonce == old {
				t.Fatalf("challenge %+v: want stale=true with a new nonce", ch)
			}
			m = d.next()
			d.sign(&m)
			mustStatus(t, d.send(m), sip.StatusOK, "")
		})
	}
}

// A nonce count used twice is a replay (RFC 7616 §3.4.5): refused with a challenge.
func TestNonceCountReplayIsChallenged(t *testing.T) {
	e := newEnv(t)
	d := e.device(testUser, testPassword)
	d.send(d.next())
	m := d.next()
	d.sign(&m)
	raw := m.bytes()
	mustStatus(t, e.reg.Handle(parseRequest(t, raw, testSource, "UDP")), sip.StatusOK, "")

	// The same bytes again, as an eavesdropper would send them.
	res := e.reg.Handle(parseRequest(t, raw, "203.0.113.66:5060", "UDP"))
	mustStatus(t, res, sip.StatusProxyAuthRequired, "")
	if e.obs.failures["replay"] != 1 {
		t.Errorf("failures %v", e.obs.failures)
	}
	// The same nonce and nc in a new request (new CSeq, same nc) too.
	m2 := d.next()
	d.nc-- // reuse the count
	d.sign(&m2)
	mustStatus(t, e.reg.Handle(m2.request(t)), sip.StatusProxyAuthRequired, "")
	// A higher count is fine.
	m3 := d.next()
	d.sign(&m3)
	mustStatus(t, e.reg.Handle(m3.request(t)), sip.StatusOK, "")
}

// Replicas share the nonce key: a nonce issued by one is accepted by another.
func TestNonceFromAnotherReplicaWithTheSameKeyIsAccepted(t *testing.T) {
	e := newEnv(t)
	b := e.newReplica(testKey)
	d := e.device(testUser, testPassword)
	d.send(d.next()) // challenged by replica A
	d.reg = b
	m := d.next()
	d.sign(&m)
	mustStatus(t, d.send(m), sip.StatusOK, "")
	if got := b.Table.Lookup(testUser+"@"+testDomain, e.now); len(got) != 1 {
		t.Errorf("replica B holds %d bindings", len(got))
	}
	// Replica C with another key does not.
	c := e.newReplica(otherKey)
	d.reg = c
	m = d.next()
	d.sign(&m)
	res := d.send(m)
	mustStatus(t, res, sip.StatusProxyAuthRequired, "")
	if challenges(t, res)[0].stale {
		t.Error("stale=true for a foreign nonce")
	}
}

// §10.3 step 6: the Contact's expires parameter, else the Expires header, else the
// default; longer than the maximum is shortened, and the 200 shows the granted value.
func TestExpiresPrecedenceAndLoweringToMax(t *testing.T) {
	for _, tc := range []struct {
		name, contactParam, header string
		want                       int
	}{
		{"default when neither", "", "", 3600},
		{"Expires header", "", "600", 600},
		{"contact parameter over header", ";expires=300", "600", 300},
		{"contact parameter alone", ";expires=120", "", 120},
		{"parameter name in capitals", ";Expires=90", "600", 90},
		{"header above max is lowered", "", "100000", 7200},
		{"parameter above max is lowered", ";expires=4294967295", "60", 7200},
		{"minimum is accepted", "", "60", 60},
		{"leading zeros", "", "0600", 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			res := d.register(func(m *msg) {
				m.contacts = []string{d.contact + tc.contactParam}
				m.expires = tc.header
			})
			mustStatus(t, res, sip.StatusOK, "")
			want := fmt.Sprintf("%s;expires=%d", d.contact, tc.want)
			if got := contactValues(res); !slices.Equal(got, []string{want}) {
				t.Errorf("Contact %q, want %q", got, want)
			}
			bs := e.bindings(testUser)
			if len(bs) != 1 || bs[0].Expires != int32(tc.want) || !bs[0].ExpiresAt.Equal(e.now.Add(time.Duration(tc.want)*time.Second)) {
				t.Errorf("binding %+v, want %d s", bs, tc.want)
			}
		})
	}
}

// §10.3 step 6: an interval below the minimum, other than 0, is 423 with Min-Expires.
func TestIntervalBelowMinimumIs423WithMinExpires(t *testing.T) {
	for _, tc := range []struct {
		name, contactParam, header string
		more                       []string // further Contact values
	}{
		{"Expires header", "", "30", nil},
		{"contact parameter", ";expires=1", "3600", nil},
		{"one of two contacts", "", "", []string{"<sip:1001@198.51.100.1>;expires=119"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.republish(func(c *published.DomainConfig) { c.MinExpires = 120 })
			d := e.device(testUser, testPassword)
			res := d.register(func(m *msg) {
				m.contacts = append([]string{d.contact + tc.contactParam}, tc.more...)
				m.expires = tc.header
			})
			mustStatus(t, res, sip.StatusIntervalToBrief, "Interval Too Brief")
			if got := headerValues(res, "Min-Expires"); !slices.Equal(got, []string{"120"}) {
				t.Errorf("Min-Expires %q, want 120", got)
			}
			if n := len(e.bindings(testUser)); n != 0 {
				t.Errorf("%d bindings after a 423 (§10.3 step 8: all or nothing)", n)
			}
		})
	}
}

// Expires: 0 (or expires=0) removes that one contact; the others stay.
func TestExpiresZeroRemovesOneContact(t *testing.T) {
	for _, tc := range []struct{ name, param, header string }{
		{"Expires header", "", "0"},
		{"contact parameter", ";expires=0", "3600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			desk, soft := e.device(testUser, testPassword), e.device(testUser, testPassword)
			soft.contact = "<sip:1001@198.51.100.7:5060>"
			mustStatus(t, desk.register(nil), sip.StatusOK, "")
			mustStatus(t, soft.register(nil), sip.StatusOK, "")
			res := desk.register(func(m *msg) {
				m.contacts = []string{desk.contact + tc.param}
				m.expires = tc.header
			})
			mustStatus(t, res, sip.StatusOK, "")
			if got, want := contactValues(res), []string{soft.contact + ";expires=3600"}; !slices.Equal(got, want) {
				t.Errorf("Contact %q, want %q", got, want)
			}
			if bs := e.bindings(testUser); len(bs) != 1 || bs[0].URI != "sip:1001@198.51.100.7:5060" {
				t.Errorf("bindings %+v", bs)
			}
		})
	}
}

// §10.3 step 5: Contact: * with Expires: 0 removes every binding; * in any other
// shape is 400.
func TestWildcardContact(t *testing.T) {
	for _, tc := range []struct {
		name     string
		contacts []string
		expires  string
		code     int
		left     int
	}{
		{"* with Expires: 0 removes all", []string{"*"}, "0", sip.StatusOK, 0},
		{"* without Expires", []string{"*"}, "", sip.StatusBadRequest, 2},
		{"* with Expires: 60", []string{"*"}, "60", sip.StatusBadRequest, 2},
		{"* and another contact, two headers", []string{"*", "<sip:1001@198.51.100.9>"}, "0", sip.StatusBadRequest, 2},
		{"* and another contact, one header", []string{"*, <sip:1001@198.51.100.9>"}, "0", sip.StatusBadRequest, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d, other := e.device(testUser, testPassword), e.device(testUser, testPassword)
			other.contact = "<sip:1001@198.51.100.7:5060>"
			mustStatus(t, d.register(nil), sip.StatusOK, "")
			mustStatus(t, other.register(nil), sip.StatusOK, "")
			res := d.register(func(m *msg) { m.contacts, m.expires = tc.contacts, tc.expires })
			mustStatus(t, res, tc.code, "")
			if tc.code == sip.StatusOK && res.GetHeader("Contact") != nil {
				t.Errorf("200 after removing all lists %q", contactValues(res))
			}
			if n := len(e.bindings(testUser)); n != tc.left {
				t.Errorf("%d bindings left, want %d", n, tc.left)
			}
		})
	}
}

// A malformed Expires header or expires parameter is 400 and changes nothing.
func TestMalformedExpiresIs400(t *testing.T) {
	for _, tc := range []struct{ name, param, header string }{
		{"letters", "", "soon"},
		{"negative", "", "-1"},
		{"fraction", "", "1.5"},
		{"sign", "", "+60"},
		{"above 2^32-1", "", "4294967296"},
		{"eleven digits", "", "99999999999"},
		{"parameter letters", ";expires=abc", ""},
		{"parameter without value", ";expires", ""},
		{"parameter quoted", `;expires="60"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			res := d.register(func(m *msg) {
				m.contacts = []string{d.contact + tc.param}
				m.expires = tc.header
			})
			mustStatus(t, res, sip.StatusBadRequest, "")
			if n := len(e.bindings(testUser)); n != 0 {
				t.Errorf("%d bindings after a 400", n)
			}
		})
	}
	t.Run("two Expires headers", func(t *testing.T) {
		e := newEnv(t)
		d := e.device(testUser, testPassword)
		res := d.register(func(m *msg) { m.expires, m.extra = "60", []string{"Expires: 120"} })
		mustStatus(t, res, sip.StatusBadRequest, "Malformed Expires")
	})
}

// §10.3 step 7: with the same Call-ID, a CSeq not above the stored one is out of
// order (500); a new Call-ID replaces the binding whatever its CSeq.
func TestCallIDAndCSeqOrdering(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callID   string // "" keeps the device's
		cseqDiff int    // against the stored CSeq
		code     int
	}{
		{"same Call-ID, higher CSeq", "", 1, sip.StatusOK},
		{"same Call-ID, same CSeq", "", 0, sip.StatusInternalServerError},
		{"same Call-ID, lower CSeq", "", -1, sip.StatusInternalServerError},
		{"new Call-ID, lower CSeq", "rebooted@192.0.2.10", -1, sip.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.cseq = 10
			mustStatus(t, d.register(nil), sip.StatusOK, "")
			stored := e.bindings(testUser)[0]

			m := d.next()
			m.cseq = uint32(int(stored.CSeq) + tc.cseqDiff)
			if tc.callID != "" {
				m.callID = tc.callID
			}
			m.expires = "600"
			d.sign(&m)
			res := d.send(m)
			mustStatus(t, res, tc.code, "")
			bs := e.bindings(testUser)
			if len(bs) != 1 {
				t.Fatalf("bindings %+v", bs)
			}
			if tc.code != sip.StatusOK && bs[0] != stored {
				t.Errorf("binding changed by a refused request: %+v", bs[0])
			}
			if tc.code == sip.StatusOK && (bs[0].CSeq != m.cseq || bs[0].CallID != m.callID || bs[0].Expires != 600) {
				t.Errorf("binding %+v not updated", bs[0])
			}
		})
	}
}

// An extension holds at most MaxContacts bindings (3 by default): a new contact
// replaces the oldest (VoIPbin's behaviour), or is refused with 403 under Reject.
func TestMaxContacts(t *testing.T) {
	register := func(e *env, n int) []*device {
		var ds []*device
		for i := range n {
			d := e.device(testUser, testPassword)
			d.contact = fmt.Sprintf("<sip:1001@198.51.100.%d:5060>", i+1)
			res := d.register(nil)
			if i < 3 || e.dom.OnMaxContacts != sipv1.Reject {
				mustStatus(t, res, sip.StatusOK, "")
			}
			ds = append(ds, d)
			e.advance(time.Second)
		}
		return ds
	}
	t.Run("replace oldest", func(t *testing.T) {
		e := newEnv(t)
		ds := register(e, 4)
		res := ds[3].register(nil)
		got := contactValues(res)
		if len(got) != 3 || !strings.HasPrefix(got[0], ds[3].contact) {
			t.Fatalf("Contact %q: want 3, the request's own first", got)
		}
		for _, c := range got {
			if strings.HasPrefix(c, ds[0].contact) {
				t.Errorf("the oldest contact %s survived", ds[0].contact)
			}
		}
		if n := len(e.bindings(testUser)); n != 3 {
			t.Errorf("%d bindings", n)
		}
	})
	t.Run("zero published limit is the default 3", func(t *testing.T) {
		e := newEnv(t)
		e.republish(func(c *published.DomainConfig) { c.MaxContacts, c.OnMaxContacts = 0, "" })
		register(e, 4)
		if n := len(e.bindings(testUser)); n != 3 {
			t.Errorf("%d bindings, want 3", n)
		}
	})
	t.Run("reject", func(t *testing.T) {
		e := newEnv(t)
		e.republish(func(c *published.DomainConfig) { c.OnMaxContacts = sipv1.Reject })
		ds := register(e, 3)
		before := e.bindings(testUser)
		d := e.device(testUser, testPassword)
		d.contact = "<sip:1001@203.0.113.4>"
		mustStatus(t, d.register(nil), sip.StatusForbidden, "Too Many Contacts")
		if after := e.bindings(testUser); !slices.Equal(before, after) {
			t.Errorf("bindings changed by a refused request:\n%+v\n%+v", before, after)
		}
		// A refresh of a held contact still works.
		mustStatus(t, ds[0].register(nil), sip.StatusOK, "")
		// Removing one makes room.
		mustStatus(t, ds[1].register(func(m *msg) { m.expires = "0" }), sip.StatusOK, "")
		mustStatus(t, d.register(nil), sip.StatusOK, "")
	})
}

// An extension's own MaxContacts overrides the domain's.
func TestPerCredentialMaxContactsOverride(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int32
		want  int
	}{
		{"raised to 5", 5, 5},
		{"lowered to 1", 1, 1},
		{"zero keeps the domain's", 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addExtension(testUser, testPassword, tc.limit)
			for i := range 6 {
				d := e.device(testUser, testPassword)
				d.contact = fmt.Sprintf("<sip:1001@198.51.100.%d>", i+1)
				mustStatus(t, d.register(nil), sip.StatusOK, "")
				e.advance(time.Second)
			}
			if n := len(e.bindings(testUser)); n != tc.want {
				t.Errorf("%d bindings, want %d", n, tc.want)
			}
		})
	}
}

// Brute force from one address: after MaxFailures wrong passwords the address gets
// 403 Too Many Failed Attempts with Retry-After, even with the right password, until
// BlockFor has passed; other addresses are unaffected.
func TestSourceThrottleBlocksAnAddressAfterFailures(t *testing.T) {
	e := newEnv(t)
	e.throttle(3, 100)
	attacker := e.device(testUser, "guess")
	for range 3 {
		mustStatus(t, attacker.register(nil), sip.StatusForbidden, "Forbidden")
	}
	victimSameIP := e.device(testUser, testPassword)
	victimSameIP.src = "192.0.2.10:5070" // same host, another port
	res := victimSameIP.register(nil)
	mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
	if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"60"}) {
		t.Errorf("Retry-After %q, want 60", got)
	}
	if e.obs.throttleKind["source"] == 0 || e.obs.lastOutcome() != OutcomeThrottled {
		t.Errorf("throttles %v, outcome %q", e.obs.throttleKind, e.obs.lastOutcome())
	}

	elsewhere := e.device(testUser, testPassword)
	elsewhere.src = "198.51.100.20:5060"
	mustStatus(t, elsewhere.register(nil), sip.StatusOK, "")

	e.advance(59 * time.Second)
	res = victimSameIP.register(nil)
	mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
	if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"1"}) {
		t.Errorf("Retry-After %q, want 1", got)
	}
	e.advance(time.Second)
	mustStatus(t, victimSameIP.register(nil), sip.StatusOK, "")
}

// Guessing one extension's password from many addresses, with the (source, AOR)
// throttle off (--throttle-source-aor-failures=0): nothing tells sources apart, so
// after MaxFailures the AOR is blocked whatever the source; other AORs are
// unaffected; the block lifts. (With it on: guessing_test.go.)
func TestAORThrottleBlocksAnExtensionAfterFailures(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 3)
	for i := range 3 {
		a := e.device(testUser, "guess")
		a.src = fmt.Sprintf("203.0.113.%d:5060", i+1)
		mustStatus(t, a.register(nil), sip.StatusForbidden, "Forbidden")
	}
	owner := e.device(testUser, testPassword)
	res := owner.register(nil)
	mustStatus(t, res, sip.StatusForbidden, "Too Many Failed Attempts")
	if got := headerValues(res, "Retry-After"); !slices.Equal(got, []string{"60"}) {
		t.Errorf("Retry-After %q, want 60", got)
	}
	if e.obs.throttleKind["aor"] == 0 {
		t.Errorf("throttles %v", e.obs.throttleKind)
	}
	// An unknown extension is throttled alike (no enumeration through the block).
	for i := range 3 {
		a := e.device("9999", "guess")
		a.src = fmt.Sprintf("203.0.113.%d:5060", i+10)
		a.register(nil)
	}
	ghost := e.device("9999", "guess")
	mustStatus(t, ghost.register(nil), sip.StatusForbidden, "Too Many Failed Attempts")

	mustStatus(t, e.device("1002", "another password").register(nil), sip.StatusOK, "")
	e.advance(time.Minute)
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
}

// Guessers cannot lock a registered device out: a source that holds a live binding of
// the AOR passes the AOR block, even with the (source, AOR) throttle off, when a new
// device elsewhere waits for it to lift.
func TestAORThrottleSparesTheRegisteredDevice(t *testing.T) {
	e := newEnv(t)
	e.throttle(100, 3)
	owner := e.device(testUser, testPassword)
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
	for i := range 3 {
		a := e.device(testUser, "guess")
		a.src = fmt.Sprintf("203.0.113.%d:5060", i+1)
		mustStatus(t, a.register(nil), sip.StatusForbidden, "Forbidden")
	}
	mustStatus(t, owner.register(nil), sip.StatusOK, "")
	newcomer := e.device(testUser, testPassword)
	newcomer.src = "198.51.100.99:5060"
	mustStatus(t, newcomer.register(nil), sip.StatusForbidden, "Too Many Failed Attempts")
	// A guess from the owner's address is still judged (and fails): passing the
	// block is not passing authentication.
	spoof := e.device(testUser, "guess")
	spoof.src = owner.src
	mustStatus(t, spoof.register(nil), sip.StatusForbidden, "Forbidden")
}

// A REGISTER without Contact is a query: 200 listing the current bindings with
// their remaining time, changing nothing.
func TestQueryListsBindings(t *testing.T) {
	e := newEnv(t)
	desk, soft := e.device(testUser, testPassword), e.device(testUser, testPassword)
	soft.contact = "<sip:1001@198.51.100.7:5060>"
	mustStatus(t, desk.register(nil), sip.StatusOK, "")
	mustStatus(t, soft.register(func(m *msg) { m.expires = "600" }), sip.StatusOK, "")
	before := e.bindings(testUser)
	e.advance(100 * time.Second)

	q := e.device(testUser, testPassword)
	res := q.register(func(m *msg) { m.contacts = nil })
	mustStatus(t, res, sip.StatusOK, "")
	got := contactValues(res)
	slices.Sort(got)
	want := []string{desk.contact + ";expires=3500", soft.contact + ";expires=500"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Contact %q, want %q", got, want)
	}
	if after := e.bindings(testUser); !slices.Equal(before, after) {
		t.Errorf("a query changed the bindings")
	}
	// Of an AOR without bindings: 200 without Contact.
	res = e.device("1002", "another password").register(func(m *msg) { m.contacts = nil })
	mustStatus(t, res, sip.StatusOK, "")
	if res.GetHeader("Contact") != nil {
		t.Errorf("Contact %q for an AOR without bindings", contactValues(res))
	}
}

// Over UDP the 200 OK must stay deliverable (sipgo refuses UDP writes over 1300
// bytes): with many long contacts it lists as many as fit, the request's own first.
// Over TCP it lists them all.
func TestUDPResponseStaysWithin1300Bytes(t *testing.T) {
	e := newEnv(t)
	e.addExtension(testUser, testPassword, 20)
	var last *device
	for i := range 20 {
		d := e.device(testUser, testPassword)
		d.transport = "TCP"
		d.contact = fmt.Sprintf("<sip:1001-%02d@198.51.100.%d:5060;transport=tcp;ob;x-long-parameter=%s>", i, i+1, strings.Repeat("v", 40))
		mustStatus(t, d.register(nil), sip.StatusOK, "")
		last = d
		e.advance(time.Second)
	}
	res := last.register(nil)
	if got := len(contactValues(res)); got != 20 {
		t.Fatalf("over TCP the 200 lists %d contacts, want 20", got)
	}

	last.transport = "UDP"
	m := last.next()
	last.sign(&m)
	req := m.request(t)
	rec := siptest.NewServerTxRecorder(req)
	defer rec.Terminate()
	last.reg.OnRegister(req, rec)
	results := rec.Result()
	if len(results) != 1 {
		t.Fatalf("%d responses sent", len(results))
	}
	res = results[0]
	mustStatus(t, res, sip.StatusOK, "")
	if size := len(res.String()); size > maxUDPResponse {
		t.Errorf("200 OK of %d bytes over UDP, over %d", size, maxUDPResponse)
	}
	got := contactValues(res)
	if len(got) == 0 || len(got) == 20 || !strings.HasPrefix(got[0], last.contact) {
		t.Errorf("Contact %d values, first %q: want a few, the request's own first", len(got), got)
	}
	if n := len(e.bindings(testUser)); n != 20 {
		t.Errorf("%d bindings: the size limit must not drop bindings", n)
	}
}

// When the copied headers alone pass the UDP limit, no Contact is added on top.
func TestUDPResponseWithHugeHeadersListsNoContact(t *testing.T) {
	for _, tc := range []struct {
		transport string
		contacts  int
	}{{"UDP", 0}, {"TCP", 1}} {
		t.Run(tc.transport, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.transport = tc.transport
			d.callID = strings.Repeat("c", 1400) + "@192.0.2.10"
			res := d.register(nil)
			mustStatus(t, res, sip.StatusOK, "")
			if got := len(contactValues(res)); got != tc.contacts {
				t.Errorf("%d contacts listed, want %d", got, tc.contacts)
			}
			if n := len(e.bindings(testUser)); n != 1 {
				t.Errorf("%d bindings", n)
			}
		})
	}
}

// The binding records where the request came from: source address, transport,
// User-Agent, Call-ID and CSeq.
func TestBindingRecordsSourceAndTransport(t *testing.T) {
	for _, transport := range []string{"UDP", "TCP", "TLS"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.transport, d.src = transport, "[2001:db8::7]:5071"
			mustStatus(t, d.register(nil), sip.StatusOK, "")
			bs := e.table.Lookup(testUser+"@"+testDomain, e.now)
			if len(bs) != 1 {
				t.Fatalf("bindings %+v", bs)
			}
			b := bs[0]
			want := location.Binding{
				URI: "sip:1001@192.0.2.10:5062;transport=udp", Source: "[2001:db8::7]:5071", Transport: transport,
				UserAgent: "test-phone/1.0", CallID: d.callID, CSeq: d.cseq, Expires: 3600,
				ExpiresAt: e.now.Add(time.Hour), RegisteredAt: e.now,
			}
			if b != want {
				t.Errorf("binding\n%+v, want\n%+v", b, want)
			}
		})
	}
	t.Run("long User-Agent is cut", func(t *testing.T) {
		e := newEnv(t)
		d := e.device(testUser, testPassword)
		mustStatus(t, d.register(func(m *msg) { m.extra = append(m.extra, "User-Agent: "+strings.Repeat("é", 1000)) }), sip.StatusOK, "")
		// extra comes before the harness's own User-Agent, so the long one is first.
		ua := e.bindings(testUser)[0].UserAgent
		if len(ua) > maxUserAgentLen {
			t.Errorf("User-Agent of %d bytes kept", len(ua))
		}
	})
}

// Requests lacking a mandatory header are 400, not a panic.
func TestMissingMandatoryHeaderIs400(t *testing.T) {
	full := msg{
		ruri: "sip:" + testDomain, to: "<sip:1001@" + testDomain + ">", from: "<sip:1001@" + testDomain + ">",
		callID: "c1", cseq: 1, src: testSource, transport: "UDP",
	}
	raw := string(full.bytes())
	for _, header := range []string{"To", "From", "Call-ID", "CSeq", "Via"} {
		t.Run(header, func(t *testing.T) {
			var lines []string
			for _, l := range strings.Split(raw, "\r\n") {
				if !strings.HasPrefix(l, header+":") {
					lines = append(lines, l)
				}
			}
			req := parseRequest(t, []byte(strings.Join(lines, "\r\n")), testSource, "UDP")
			mustStatus(t, newEnv(t).reg.Handle(req), sip.StatusBadRequest, "")
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

// OnRegister answers on the server transaction; the wire sees the challenge, then
// the 200.
func TestOnRegisterRespondsOnTheTransaction(t *testing.T) {
	e := newEnv(t)
	d := e.device(testUser, testPassword)
	send := func(m msg) *sip.Response {
		t.Helper()
		req := m.request(t)
		rec := siptest.NewServerTxRecorder(req)
		defer rec.Terminate()
		e.reg.OnRegister(req, rec)
		res := rec.Result()
		if len(res) != 1 {
			t.Fatalf("%d responses on the wire", len(res))
		}
		return res[0]
	}
	res := send(d.next())
	mustStatus(t, res, sip.StatusProxyAuthRequired, "Proxy Authentication Required")
	d.take(res)
	m := d.next()
	d.sign(&m)
	mustStatus(t, send(m), sip.StatusOK, "OK")
}

func TestParseExpires(t *testing.T) {
	for _, tc := range []struct {
		in      string
		present bool
		want    int64
		bad     bool
	}{
		{"", false, -1, false},
		{"0", true, 0, false},
		{" 3600 ", true, 3600, false},
		{"4294967295", true, 4294967295, false},
		{"4294967296", true, 0, true},
		{"", true, 0, true},
		{"-0", true, 0, true},
		{"1e3", true, 0, true},
		{"0x10", true, 0, true},
		{"00000000060", true, 0, true},
	} {
		got, err := parseExpires(tc.in, tc.present)
		if (err != nil) != tc.bad || !tc.bad && got != tc.want {
			t.Errorf("parseExpires(%q, %v) = %d, %v; want %d, bad=%v", tc.in, tc.present, got, err, tc.want, tc.bad)
		}
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	req := msg{ruri: "sip:" + testDomain, to: "<sip:1@" + testDomain + ">", from: "<sip:1@" + testDomain + ">", callID: "c", cseq: 1, src: testSource, transport: "UDP"}.request(t)
	for after, want := range map[time.Duration]string{
		time.Minute:                           "60",
		59*time.Second + time.Millisecond:     "60",
		59*time.Second + 600*time.Millisecond: "60",
		time.Millisecond:                      "1",
	} {
		if got := throttled(req, after).GetHeader("Retry-After").Value(); got != want {
			t.Errorf("Retry-After for %v = %s, want %s", after, got, want)
		}
	}
}

// The 200 lists the bindings the request touched first, each group in table order.
func TestOrderForResponsePutsTouchedBindingsFirst(t *testing.T) {
	bs := []location.Binding{{URI: "sip:a@h"}, {URI: "sip:b@h"}, {URI: "sip:c@h"}, {URI: "sip:d@h"}, {URI: "sip:e@h"}}
	touched := []location.ContactUpdate{{URI: "sip:e@h"}, {URI: "sip:B@h"}, {URI: "sip:zz@h"}}
	var got []string
	for _, b := range orderForResponse(bs, touched) {
		got = append(got, b.URI)
	}
	// URIEqual compares the user part case-sensitively: B is not b.
	if want := []string{"sip:e@h", "sip:a@h", "sip:b@h", "sip:c@h", "sip:d@h"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	touched = []location.ContactUpdate{{URI: "sip:d@h"}, {URI: "sip:b@h"}}
	got = got[:0]
	for _, b := range orderForResponse(bs, touched) {
		got = append(got, b.URI)
	}
	if want := []string{"sip:b@h", "sip:d@h", "sip:e@h", "sip:a@h", "sip:c@h"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// A request's size as received lets a 200 OK skip measuring itself against the UDP
// limit. The bound must hold for requests that render longer than they arrived:
// compact header names, unbracketed and unquoted name-addrs, many Vias, rport.
func TestSizedUDPResponseNeverPassesTheLimit(t *testing.T) {
	compact := strings.NewReplacer("\r\nVia: ", "\r\nv: ", "\r\nFrom: <sip:1001@"+testDomain+">", "\r\nf:Alice<sip:1001@"+testDomain+">",
		"\r\nTo: <sip:1001@"+testDomain+">", "\r\nt:sip:1001@"+testDomain, "\r\nCall-ID: ", "\r\ni:", "\r\nContact: ", "\r\nm:")
	e := newEnv(t)
	e.addExtension(testUser, testPassword, 3)
	d := e.device(testUser, testPassword)
	mustStatus(t, d.register(nil), sip.StatusOK, "")
	sawFit := false
	for vias := 0; vias < 60; vias += 3 {
		m := d.next()
		for i := range vias {
			m.extra = append(m.extra, fmt.Sprintf("v: SIP/2.0/UDP h%d;branch=z9hG4bK%d;rport", i, i))
		}
		d.sign(&m)
		raw := []byte(compact.Replace(string(m.bytes())))
		req := parseRequest(t, raw, m.src, "UDP")
		res := d.reg.HandleSized(req, len(raw))
		mustStatus(t, res, sip.StatusOK, "")
		rendered := len(res.String())
		// Past the limit only when the copied headers alone pass it (no Contact then).
		if rendered > maxUDPResponse && len(contactValues(res)) > 0 {
			t.Fatalf("%d extra Vias: request of %d bytes, 200 OK of %d bytes over UDP", vias, len(raw), rendered)
		}
		if fitsUnmeasured(res, nil, len(raw)) {
			sawFit = true
			if rendered > maxUDPResponse {
				t.Fatalf("%d extra Vias: judged to fit unmeasured, rendered %d bytes", vias, rendered)
			}
		}
	}
	if !sawFit {
		t.Error("no request took the unmeasured path: the test covers nothing")
	}
}
