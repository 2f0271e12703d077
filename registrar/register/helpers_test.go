package register

import (
	"crypto/md5" //nolint:gosec // the digest algorithm devices speak
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
	"github.com/voipbin/registrar-operator/registrar/location"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

const (
	testDomain   = "acme.registrar.voipbin.net"
	otherDomain  = "globex.registrar.voipbin.net"
	testUser     = "1001"
	testPassword = "correct horse battery staple"
	testSource   = "192.0.2.10:5062"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("fedcba9876543210fedcba9876543210")
	t0       = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

// newDomain is a published domain with the CRD defaults, changed by change.
func newDomain(name string, change ...func(*published.DomainConfig)) *directory.Domain {
	c := published.DomainConfig{
		CustomerID:     strings.SplitN(name, ".", 2)[0],
		Domain:         name,
		Realm:          name,
		MinExpires:     60,
		DefaultExpires: 3600,
		MaxExpires:     7200,
		MaxContacts:    3,
		OnMaxContacts:  sipv1.ReplaceOldest,
		Challenge:      sipv1.ChallengeProxyAuthenticate,
		Algorithms:     []sipv1.DigestAlgorithm{sipv1.DigestMD5},
	}
	for _, f := range change {
		f(&c)
	}
	return directory.NewDomain(c)
}

// republish changes testDomain's published config, as the operator would on an
// update of the Domain.
func (e *env) republish(change func(*published.DomainConfig)) {
	*e.dom = *newDomain(testDomain, change)
}

// newCredential publishes an extension's HA1 values, as the operator does.
func newCredential(dom *directory.Domain, user, password string, maxContacts int32) *directory.Credential {
	return &directory.Credential{
		Namespace:   "customer-" + dom.CustomerID,
		Name:        "ext-" + user,
		Extension:   user,
		Domain:      dom.Domain,
		AOR:         user + "@" + dom.Domain,
		HA1MD5:      published.HA1(sipv1.DigestMD5, user, dom.Realm, password),
		HA1SHA256:   published.HA1(sipv1.DigestSHA256, user, dom.Realm, password),
		MaxContacts: maxContacts,
	}
}

// recordingObserver counts what the handler reports.
type recordingObserver struct {
	mu                               sync.Mutex
	outcomes, failures, throttleKind map[string]int
	last                             string
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{outcomes: map[string]int{}, failures: map[string]int{}, throttleKind: map[string]int{}}
}

func (o *recordingObserver) Register(_, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes[outcome]++
	o.last = outcome
}

func (o *recordingObserver) AuthFailure(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures[reason]++
}

func (o *recordingObserver) Throttled(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.throttleKind[kind]++
}

func (o *recordingObserver) lastOutcome() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// env is one registrar replica with a directory, a table and a hand-driven clock.
type env struct {
	t     testing.TB
	now   time.Time
	dom   *directory.Domain // testDomain, mutable by the test
	dir   *directory.Static
	table *location.Table
	// nonces and guard are reg's: tests check its nonces and set its throttles.
	nonces *digest.NonceSigner
	guard  *guard.Guard
	reg    *Handler
	obs    *recordingObserver
}

// newEnv returns a replica serving testDomain (with extension testUser) and
// otherDomain, without throttling; tests set the throttles of e.guard when they need them.
func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, now: t0, obs: newRecordingObserver()}
	e.dom = newDomain(testDomain)
	other := newDomain(otherDomain)
	e.dir = &directory.Static{
		Domains:     map[string]*directory.Domain{testDomain: e.dom, otherDomain: other},
		Credentials: map[string]*directory.Credential{},
	}
	e.addExtension(testUser, testPassword, 0)
	e.addExtension("1002", "another password", 0)
	e.dir.Credentials["1001@"+otherDomain] = newCredential(other, "1001", "globex password", 0)
	e.table = location.New(4, nil)
	e.nonces = digest.NewNonceSigner(testKey, 0)
	e.guard = &guard.Guard{Bindings: e.table}
	e.reg = e.newHandler(e.table, e.nonces, e.guard)
	return e
}

// newReplica returns another Handler over the same directory with its own table,
// nonce counts and guard, signing nonces with key.
func (e *env) newReplica(key []byte) *Handler {
	table := location.New(4, nil)
	return e.newHandler(table, digest.NewNonceSigner(key, 0), &guard.Guard{Bindings: table})
}

func (e *env) newHandler(table *location.Table, nonces *digest.NonceSigner, gd *guard.Guard) *Handler {
	return New(Config{
		Directory: e.dir,
		Table:     table,
		Nonces:    nonces,
		Counts:    digest.NewNonceCounts(1024, 0),
		Guard:     gd,
		Observer:  e.obs,
		Now:       func() time.Time { return e.now },
	})
}

func (e *env) addExtension(user, password string, maxContacts int32) *directory.Credential {
	c := newCredential(e.dom, user, password, maxContacts)
	e.dir.Credentials[c.AOR] = c
	return c
}

func (e *env) advance(d time.Duration) { e.now = e.now.Add(d) }

func (e *env) throttle(bySource, byAOR int) {
	if bySource > 0 {
		e.guard.BySource = throttle.New(throttle.Config{MaxFailures: bySource, Window: 20 * time.Second, BlockFor: time.Minute, Capacity: 1024})
	}
	if byAOR > 0 {
		e.guard.ByAOR = throttle.New(throttle.Config{MaxFailures: byAOR, Window: 20 * time.Second, BlockFor: time.Minute, Capacity: 1024})
	}
}

// throttlePairs turns on the (source, AOR) throttle: maxFailures in 10 minutes block
// the pair for 10 minutes, and the AOR's budget holds back only sources that failed.
func (e *env) throttlePairs(maxFailures int) {
	e.guard.BySourceAOR = throttle.New(throttle.Config{MaxFailures: maxFailures, Window: 10 * time.Minute, BlockFor: 10 * time.Minute, Capacity: 1024})
}

// bindings returns the live bindings of user@testDomain.
func (e *env) bindings(user string) []location.Binding {
	return e.table.Lookup(user+"@"+testDomain, e.now)
}

var branchSeq atomic.Uint64

// msg is a REGISTER to render as raw SIP text.
type msg struct {
	ruri, to, from, callID string
	cseq                   uint32
	contacts               []string // one Contact header each; none: a query
	expires                string   // Expires header value; "" leaves it out
	extra                  []string // more header lines, "Name: value"
	src, transport         string
	// sentBy is the top Via's sent-by, src when empty; noRport leaves rport out of it.
	// via, when set, is the whole top Via value instead.
	via     string
	sentBy  string
	noRport bool
	// belowVia, when set, is a second Via line under the top one: the device's,
	// with a proxy's on top.
	belowVia string
	// cseqMethod is the CSeq's method, REGISTER when empty.
	cseqMethod string
}

func (m msg) bytes() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER %s SIP/2.0\r\n", m.ruri)
	sentBy, rport := m.sentBy, ";rport"
	if sentBy == "" {
		sentBy = m.src
	}
	if m.noRport {
		rport = ""
	}
	if m.via != "" {
		fmt.Fprintf(&b, "Via: %s\r\n", m.via)
	} else {
		fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-t%d%s\r\n", m.transport, sentBy, branchSeq.Add(1), rport)
	}
	if m.belowVia != "" {
		fmt.Fprintf(&b, "Via: %s\r\n", m.belowVia)
	}
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: %s;tag=f%d\r\n", m.from, m.cseq)
	fmt.Fprintf(&b, "To: %s\r\n", m.to)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", m.callID)
	method := m.cseqMethod
	if method == "" {
		method = "REGISTER"
	}
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", m.cseq, method)
	for _, c := range m.contacts {
		fmt.Fprintf(&b, "Contact: %s\r\n", c)
	}
	if m.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\r\n", m.expires)
	}
	for _, h := range m.extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("User-Agent: test-phone/1.0\r\nContent-Length: 0\r\n\r\n")
	return []byte(b.String())
}

// parseRequest parses raw SIP as the transport layer would (with the parser the
// registrar gives sipgo) and stamps where it came from.
func parseRequest(t testing.TB, raw []byte, src, transport string) *sip.Request {
	t.Helper()
	m, err := sipparse.NewSipgoParser().ParseSIP(raw)
	if err != nil {
		t.Fatalf("parsing the request: %v\n%s", err, raw)
	}
	req, ok := m.(*sip.Request)
	if !ok {
		t.Fatalf("not a request:\n%s", raw)
	}
	req.SetSource(src)
	req.SetTransport(transport)
	return req
}

// fastParse returns a parse for device.parse: the UDP front end's parser
// (sipparse), one of its own, as each of the front end's readers has.
func fastParse() func(testing.TB, []byte, string, string) *sip.Request {
	p := sipparse.New()
	return func(t testing.TB, raw []byte, src, transport string) *sip.Request {
		t.Helper()
		m, err := p.ParseSIP(raw)
		if err != nil {
			t.Fatalf("parsing the request: %v\n%s", err, raw)
		}
		req, ok := m.(*sip.Request)
		if !ok {
			t.Fatalf("not a request:\n%s", raw)
		}
		req.SetSource(src)
		req.SetTransport(transport)
		return req
	}
}

func (m msg) request(t testing.TB) *sip.Request {
	return parseRequest(t, m.bytes(), m.src, m.transport)
}

// challenge is a parsed WWW-Authenticate / Proxy-Authenticate value.
type challenge struct {
	header, realm, nonce, qop string
	algorithm                 sipv1.DigestAlgorithm
	stale                     bool
}

// parseChallengeValue reads a Digest challenge; good enough for what challenge renders.
func parseChallengeValue(t testing.TB, header, v string) challenge {
	t.Helper()
	rest, ok := strings.CutPrefix(v, "Digest ")
	if !ok {
		t.Fatalf("%s: not a Digest challenge: %q", header, v)
	}
	ch := challenge{header: header}
	for _, p := range strings.Split(rest, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			t.Fatalf("%s: bad parameter %q in %q", header, p, v)
		}
		if uq, err := strconv.Unquote(val); err == nil {
			val = uq
		}
		switch name {
		case "realm":
			ch.realm = val
		case "nonce":
			ch.nonce = val
		case "qop":
			ch.qop = val
		case "algorithm":
			ch.algorithm = sipv1.DigestAlgorithm(val)
		case "stale":
			ch.stale = val == "true"
		default:
			t.Fatalf("%s: unexpected parameter %q in %q", header, name, v)
		}
	}
	return ch
}

// challenges returns every challenge of a 401 or 407, in order.
func challenges(t testing.TB, res *sip.Response) []challenge {
	t.Helper()
	header := "Proxy-Authenticate"
	if res.StatusCode == sip.StatusUnauthorized {
		header = "WWW-Authenticate"
	}
	var out []challenge
	for _, h := range res.GetHeaders(header) {
		out = append(out, parseChallengeValue(t, header, h.Value()))
	}
	return out
}

func isChallenge(res *sip.Response) bool {
	return res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired
}

func newHash(alg sipv1.DigestAlgorithm) hash.Hash {
	if alg == sipv1.DigestSHA256 {
		return sha256.New()
	}
	return md5.New() //nolint:gosec // see the import
}

func hexHash(alg sipv1.DigestAlgorithm, s string) string {
	h := newHash(alg)
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// answer computes the client's digest answer per RFC 2617 / 7616 with qop=auth, the
// way a device does: from the password, not from the registrar's published HA1.
func answer(ch challenge, user, password, uri string, nc uint32, cnonce string) digest.Credentials {
	alg := ch.algorithm
	if alg == "" {
		alg = sipv1.DigestMD5
	}
	ha1 := hexHash(alg, user+":"+ch.realm+":"+password)
	ha2 := hexHash(alg, "REGISTER:"+uri)
	ncs := fmt.Sprintf("%08x", nc)
	return digest.Credentials{
		Username:  user,
		Realm:     ch.realm,
		Nonce:     ch.nonce,
		URI:       uri,
		Algorithm: string(alg),
		CNonce:    cnonce,
		QOP:       "auth",
		NC:        ncs,
		Response:  hexHash(alg, ha1+":"+ch.nonce+":"+ncs+":"+cnonce+":auth:"+ha2),
	}
}

// device is a SIP phone: one Call-ID, counting CSeq, answering challenges.
type device struct {
	e                   *env
	reg                 *Handler // the replica it talks to
	user, password      string
	authUser            string // digest username, user when empty
	src, transport, uri string
	callID              string
	cseq                uint32
	contact             string
	authHeader          string                // "Proxy-Authorization" unless set
	alg                 sipv1.DigestAlgorithm // the algorithm it prefers; the first offered when empty
	ch                  *challenge            // the challenge it answers
	nc                  uint32
	// parse reads its REGISTERs as a transport would; nil: sipgo's parser, as over
	// TCP, TLS and WebSocket (fastParse: the UDP front end's).
	parse func(testing.TB, []byte, string, string) *sip.Request
}

func (e *env) device(user, password string) *device {
	return &device{
		e: e, reg: e.reg, user: user, password: password,
		src: testSource, transport: "UDP", uri: "sip:" + testDomain,
		callID:  fmt.Sprintf("call-%s-%d@192.0.2.10", user, branchSeq.Add(1)),
		contact: "<sip:" + user + "@" + testSource + ";transport=udp>",
	}
}

// next is the device's next REGISTER, unsigned.
func (d *device) next() msg {
	d.cseq++
	return msg{
		ruri: d.uri, to: "<sip:" + d.user + "@" + testDomain + ">", from: "<sip:" + d.user + "@" + testDomain + ">",
		callID: d.callID, cseq: d.cseq, contacts: []string{d.contact}, src: d.src, transport: d.transport,
	}
}

// sign adds the device's answer to its current challenge, with the next nonce count.
func (d *device) sign(m *msg) {
	d.e.t.Helper()
	if d.ch == nil {
		d.e.t.Fatal("device has no challenge to answer")
	}
	d.nc++
	user := d.authUser
	if user == "" {
		user = d.user
	}
	c := answer(*d.ch, user, d.password, d.uri, d.nc, "cn"+strconv.Itoa(int(d.cseq)))
	header := d.authHeader
	if header == "" {
		header = "Proxy-Authorization"
	}
	m.extra = append(m.extra, header+": "+string(c.AppendTo(nil)))
}

// send hands m to the registrar; a challenge in the response becomes the one the
// device answers next.
func (d *device) send(m msg) *sip.Response {
	d.e.t.Helper()
	var req *sip.Request
	if d.parse != nil {
		req = d.parse(d.e.t, m.bytes(), m.src, m.transport)
	} else {
		req = m.request(d.e.t)
	}
	res := d.reg.Handle(req)
	if isChallenge(res) {
		d.take(res)
	}
	return res
}

func (d *device) take(res *sip.Response) {
	d.e.t.Helper()
	chs := challenges(d.e.t, res)
	if len(chs) == 0 {
		d.e.t.Fatalf("%d without a challenge header:\n%s", res.StatusCode, res)
	}
	pick := chs[0]
	for _, ch := range chs {
		if ch.algorithm == d.alg {
			pick = ch
			break
		}
	}
	d.ch, d.nc = &pick, 0
}

// register runs a whole registration: unsigned first if the device holds no
// challenge, then signed, once more signed after stale=true. mod shapes each
// REGISTER it sends.
func (d *device) register(mod func(*msg)) *sip.Response {
	d.e.t.Helper()
	if mod == nil {
		mod = func(*msg) {}
	}
	if d.ch == nil {
		m := d.next()
		mod(&m)
		if res := d.send(m); !isChallenge(res) {
			return res
		}
	}
	for attempt := 0; ; attempt++ {
		m := d.next()
		mod(&m)
		d.sign(&m)
		res := d.send(m)
		if attempt == 0 && isChallenge(res) && d.ch.stale {
			continue
		}
		return res
	}
}

// mustStatus fails unless res has the code and, when given, the reason.
func mustStatus(t testing.TB, res *sip.Response, code int, reason string) {
	t.Helper()
	if res.StatusCode != code || reason != "" && res.Reason != reason {
		t.Fatalf("got %d %s, want %d %s\n%s", res.StatusCode, res.Reason, code, reason, res)
	}
}

// headerValues returns the values of every header called name.
func headerValues(res *sip.Response, name string) []string {
	var out []string
	for _, h := range res.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

// contactValues returns the response's Contact values.
func contactValues(res *sip.Response) []string { return headerValues(res, "Contact") }

// headerNames lists the response's header names, in order.
func headerNames(res *sip.Response) []string {
	var out []string
	for _, h := range res.Headers() {
		out = append(out, h.Name())
	}
	return out
}

// onRegister runs m through the sipgo handler on a recorded server transaction and
// returns the one response it put on the wire.
func (e *env) onRegister(t *testing.T, m msg) *sip.Response {
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
