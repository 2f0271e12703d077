// Package register answers REGISTER requests per RFC 3261 §10.3, with digest
// authentication (RFC 7616, RFC 8760), against the published directory and the
// replica's location table.
//
// A REGISTER reaches a Handler from the UDP front end (HandleDatagram, package
// udpfront) or from sipgo (OnRegister, over TCP and TLS). Handler.handle takes it
// through the steps of §10.3 without I/O: the domain and the extension's credential
// from the directory (package directory), the answer to the challenge checked by
// package digest and throttled by package guard, and the binding applied to the
// location table (package location), which tells the status writer.
package register

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// Outcomes of a REGISTER, as metrics label them.
const (
	OutcomeRegistered   = "registered"
	OutcomeChallenged   = "challenged"
	OutcomeForbidden    = "forbidden"
	OutcomeNotFound     = "not_found"
	OutcomeBadRequest   = "bad_request"
	OutcomeTooBrief     = "interval_too_brief"
	OutcomeUnsupported  = "unsupported"
	OutcomeThrottled    = "throttled"
	OutcomeServerError  = "server_error"
	OutcomeStaleNonce   = "stale_nonce"
	OutcomeTooManyBinds = "too_many_contacts"
)

// maxUDPResponse keeps a 200 OK deliverable over UDP: sipgo refuses UDP writes over
// 1300 bytes (RFC 3261 §18.1.1 keeps UDP messages 200 bytes under a 1500-byte MTU).
const maxUDPResponse = 1300

// Observer receives what the handler measures (Prometheus in production).
type Observer interface {
	// Register counts a REGISTER answered over transport (UDP, TCP, TLS, WS or WSS).
	Register(transport, outcome string)
	AuthFailure(reason string)
	Throttled(kind string)
}

// Reasons of AuthFailure, as metrics label them.
const (
	FailureBadNonce         = "bad_nonce"         // a nonce we did not issue, or for another realm
	FailureWrongCredentials = "wrong_credentials" // a wrong password, username or unknown extension
	FailureReplay           = "replay"            // a nonce count already used
)

// FailureReasons are every reason AuthFailure is given.
var FailureReasons = []string{FailureBadNonce, FailureWrongCredentials, FailureReplay}

type nopObserver struct{}

func (nopObserver) Register(string, string) {}
func (nopObserver) AuthFailure(string)      {}
func (nopObserver) Throttled(string)        {}

// Config is what a Handler needs; set every field but the optional ones.
type Config struct {
	// Directory holds the served domains and the extensions' credentials.
	Directory directory.Directory
	// Table is the replica's location table, where bindings are kept.
	Table *location.Table
	// Nonces and Counts sign the challenges' nonces and count their uses; the proxy
	// shares them, so that a caller answers its challenges as it answers REGISTER's.
	Nonces *digest.NonceSigner
	Counts *digest.NonceCounts
	// Guard throttles password guessing; the proxy shares it, so that wrong answers
	// to its challenges count too. Nil throttles nothing.
	Guard *guard.Guard
	// Observer is optional (nil: nothing measured).
	Observer Observer
	Log      logr.Logger
	// Now is the clock (nil: time.Now); tests replace it.
	Now func() time.Time
}

// Handler answers REGISTER requests; create it with New.
type Handler struct {
	dir    directory.Directory
	table  *location.Table
	nonces *digest.NonceSigner
	counts *digest.NonceCounts
	guard  *guard.Guard
	obs    Observer
	log    logr.Logger
	clock  func() time.Time
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{dir: cfg.Directory, table: cfg.Table, nonces: cfg.Nonces, counts: cfg.Counts, guard: cfg.Guard,
		obs: cfg.Observer, log: cfg.Log, clock: cfg.Now}
	if h.obs == nil {
		h.obs = nopObserver{}
	}
	if h.clock == nil {
		h.clock = time.Now
	}
	return h
}

// OnRegister is the sipgo handler.
func (r *Handler) OnRegister(req *sip.Request, tx sip.ServerTransaction) {
	res := r.Handle(req)
	if err := tx.Respond(res); err != nil {
		r.log.V(1).Info("could not send the REGISTER response", "status", res.StatusCode, "source", req.Source(), "error", err.Error())
	}
}

// Handle turns a REGISTER into its response; it does no I/O.
func (r *Handler) Handle(req *sip.Request) *sip.Response { return r.HandleDatagram(req, 0) }

// HandleDatagram is Handle for a REGISTER that arrived in a UDP datagram of
// datagramLen bytes (0: not known). A 200 OK over UDP must fit maxUDPResponse; one
// that surely does, judged from the request's length, is then not measured.
func (r *Handler) HandleDatagram(req *sip.Request, datagramLen int) *sip.Response {
	res, outcome := r.handle(req, datagramLen)
	r.obs.Register(transportOf(req), outcome)
	return res
}

func (r *Handler) handle(req *sip.Request, size int) (*sip.Response, string) {
	// RFC 3261 §8.2 (RFC 4475 §3.1.2.16, badvers): a version other than 2.0 is
	// answered 505 before anything in the request is read as 2.0's.
	if !strings.EqualFold(req.SipVersion, sipVersion) {
		return versionNotSupported(req), OutcomeUnsupported
	}
	now := r.clock()
	src := req.Source()
	srcKey := guard.SourceHost(src)
	if blocked, after := r.guard.SourceBlocked(srcKey, now); blocked {
		r.obs.Throttled(guard.KindSource)
		return throttled(req, after), OutcomeThrottled
	}
	// Via too: without it the response could not be routed back (RFC 3261 §8.1.1).
	if req.To() == nil || req.From() == nil || req.CallID() == nil || req.CSeq() == nil || req.Via() == nil {
		return respond(req, sip.StatusBadRequest, "Missing Mandatory Header"), OutcomeBadRequest
	}
	// The CSeq method must be the request's (RFC 3261 §8.1.1.5; RFC 4475 §3.1.2.16
	// answers a mismatch 400): checked before anything is challenged or applied.
	if !cseqMatches(req) {
		return respond(req, sip.StatusBadRequest, reasonCSeqMismatch), OutcomeBadRequest
	}
	// §10.3 step 1: the Request-URI names a domain this registrar serves.
	dom, ok := r.dir.Domain(strings.ToLower(req.Recipient.Host))
	if !ok {
		return respond(req, sip.StatusNotFound, "Domain Not Served"), OutcomeNotFound
	}
	// Step 2: extensions we do not support.
	if tags := requiredExtensions(req); len(tags) > 0 {
		res := respond(req, 420, "Bad Extension")
		res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
		return res, OutcomeUnsupported
	}
	// Step 4 (read first: the credentials must match it): the AOR from To.
	to := req.To().Address
	if to.User == "" || !strings.EqualFold(to.Host, dom.Domain) {
		return respond(req, sip.StatusNotFound, "Not Found"), OutcomeNotFound
	}
	user, err := directory.CanonicalUser(to.User)
	if err != nil {
		return respond(req, sip.StatusBadRequest, reasonMalformedTo), OutcomeBadRequest
	}
	aor := user + "@" + dom.Domain
	// Step 3: authentication.
	cred, res, outcome := r.authenticate(req, dom, user, aor, srcKey, now)
	if res != nil {
		return res, outcome
	}
	return r.bind(req, dom, cred, aor, src, size, now)
}

// authenticate checks the digest answer, or challenges. It answers every failure
// alike, so that a wrong password, an unknown and a disabled extension look the same.
// (Only an Extension given algorithms of its own shows in its challenge: that is what
// lets its devices use them.)
func (r *Handler) authenticate(
	req *sip.Request, dom *directory.Domain, user, aor, srcKey string, now time.Time,
) (*directory.Credential, *sip.Response, string) {
	// The extension's own algorithms shape the challenge; an unknown or disabled one
	// is challenged as an extension without them.
	cred, known := r.dir.Credential(dom.Domain, user)
	var own []sipv1.DigestAlgorithm
	if known {
		own = cred.Algorithms
	}
	// Without an answer for our realm (none, or for another realm: RFC 3261 §22.3),
	// a challenge.
	c, err := digest.CredentialsFor(req, dom.Realm)
	if errors.Is(err, digest.ErrNoCredentials) {
		return nil, r.challenge(req, dom, own, now, false, ""), OutcomeChallenged
	}
	if err != nil {
		return nil, respond(req, sip.StatusBadRequest, "Malformed Credentials"), OutcomeBadRequest
	}
	// The answer must have been computed for this Request-URI (RFC 7616 §3.4.6);
	// digest.Verify leaves that check to its caller.
	if !digest.URIMatches(c.URI, &req.Recipient) {
		return nil, respond(req, sip.StatusBadRequest, "Digest URI Mismatch"), OutcomeBadRequest
	}
	alg, ok := digest.AlgorithmOf(c)
	if !ok || !digest.Accepts(dom.Algorithms, own, alg) {
		return nil, r.challenge(req, dom, own, now, false, ""), OutcomeChallenged
	}
	nonceErr, returnable := guard.CheckNonce(r.nonces, c.Nonce, dom.Realm, srcKey, now)
	if errors.Is(nonceErr, digest.ErrNonceInvalid) {
		r.obs.AuthFailure(FailureBadNonce)
		return nil, r.challenge(req, dom, own, now, false, ""), OutcomeChallenged
	}
	boundTo := "" // a nonce bound to the source's address is followed by another
	switch verdict, kind, after := r.guard.Verdict(aor, srcKey, now); {
	case verdict == guard.Refuse:
		r.obs.Throttled(kind)
		return nil, throttled(req, after), OutcomeThrottled
	case verdict == guard.JudgeIfReturnable && !returnable:
		// stale=true: the device retries at once, without asking its user.
		return nil, r.challenge(req, dom, own, now, true, srcKey), OutcomeChallenged
	case returnable:
		boundTo = srcKey
	}
	ha1 := ""
	if known {
		ha1 = cred.HA1(alg)
	}
	// The digest username must be the AOR's user (a device may not register others).
	if c.Username != user || !known || ha1 == "" || !digest.Verify(c, sip.REGISTER.String(), ha1) {
		r.obs.AuthFailure(FailureWrongCredentials)
		r.guard.Failed(aor, srcKey, now)
		return nil, respond(req, sip.StatusForbidden, "Forbidden"), OutcomeForbidden
	}
	// The password was right; an expired nonce only needs a fresh one (stale=true:
	// the device retries without asking its user).
	if nonceErr != nil {
		return nil, r.challenge(req, dom, own, now, true, boundTo), OutcomeStaleNonce
	}
	if !r.counts.Use(c.Nonce, c.NonceCount(), now) {
		r.obs.AuthFailure(FailureReplay)
		return nil, r.challenge(req, dom, own, now, true, boundTo), OutcomeChallenged
	}
	return cred, nil, ""
}

// challenge answers in the domain's style (407 Proxy-Authenticate or 401
// WWW-Authenticate) with the challenges digest.AddChallenges picks for the extension
// (own are its algorithms, nil for the domain's preference). A nonce bound to an
// address (boundTo, "" for none) is only good from that address.
func (r *Handler) challenge(
	req *sip.Request, dom *directory.Domain, own []sipv1.DigestAlgorithm, now time.Time, stale bool, boundTo string,
) *sip.Response {
	style := digest.StyleOf(dom.Challenge)
	res := respond(req, style.Code, style.Reason)
	nonce := r.nonces.Issue(guard.NonceRealm(dom.Realm, boundTo), now)
	digest.AddChallenges(res, style, dom.Realm, nonce, dom.Algorithms, own, stale)
	return res
}

// bind applies the REGISTER to the location table (§10.3 steps 5 to 8) and answers
// with every current binding (step 9).
func (r *Handler) bind(
	req *sip.Request, dom *directory.Domain, cred *directory.Credential, aor, src string, size int, now time.Time,
) (*sip.Response, string) {
	var contacts [4]location.ContactUpdate // room for the usual request, one allocation
	lr, flow, res, outcome := r.locationRequest(req, aor, src, contacts[:0], now)
	if res != nil {
		return res, outcome
	}
	if cred.MaxContacts > 0 {
		lr.MaxContacts = int(cred.MaxContacts)
	}
	var room [4]location.Binding // the usual AOR's bindings, without allocating
	bindings, err := r.table.RegisterAppend(room[:0], lr, dom.Policy)
	if err != nil {
		return r.refused(req, aor, err)
	}
	return r.ok(req, lr, &flow, bindings, size, now), OutcomeRegistered
}

// locationRequest reads what a REGISTER asks of the location table (§10.3 steps 5 to
// 7), its contacts appended to contacts; a response instead when the request is
// malformed.
func (r *Handler) locationRequest(
	req *sip.Request, aor, src string, contacts []location.ContactUpdate, now time.Time,
) (location.Request, regFlow, *sip.Response, string) {
	lr := location.Request{
		AOR:       aor,
		CallID:    req.CallID().Value(),
		CSeq:      req.CSeq().SeqNo,
		Source:    src,
		Transport: transportOf(req),
		Now:       now,
		Contacts:  contacts,
	}
	if ua := firstHeader(req, "User-Agent"); ua != nil {
		lr.UserAgent = truncateUTF8(ua.Value(), maxUserAgentLen)
	}
	var err error
	if lr.Expires, err = headerExpires(req); err != nil {
		return lr, regFlow{}, respond(req, sip.StatusBadRequest, "Malformed Expires"), OutcomeBadRequest
	}
	for _, h := range req.Headers() {
		ch, ok := h.(*sip.ContactHeader) // the parser makes every Contact (and m) one
		if !ok {
			if strings.EqualFold(h.Name(), "Contact") { // built by hand, unparsed
				return lr, regFlow{}, respond(req, sip.StatusBadRequest, "Malformed Contact"), OutcomeBadRequest
			}
			continue
		}
		if ch.Address.Wildcard {
			// §10.2.2, §10.3 step 6: "*" is the only Contact value, so only once.
			if lr.Wildcard {
				return lr, regFlow{}, respond(req, sip.StatusBadRequest, reasonBadWildcard), OutcomeBadRequest
			}
			lr.Wildcard = true
			continue
		}
		// §25.1: a SIP URI's hostport is mandatory; sipgo parses "sip:1001@" and
		// "sip:" with an empty host, which no request could be sent to.
		if ch.Address.Host == "" && isSIPScheme(ch.Address.Scheme) {
			return lr, regFlow{}, respond(req, sip.StatusBadRequest, "Malformed Contact"), OutcomeBadRequest
		}
		v, has := contactExpires(ch.Params)
		exp := parseExpires(v, has)
		instance, regID, ok := contactFlow(ch.Params)
		if !ok {
			return lr, regFlow{}, respond(req, sip.StatusBadRequest, "Malformed +sip.instance or reg-id"), OutcomeBadRequest
		}
		q, ok := contactQ(ch.Params)
		if !ok {
			return lr, regFlow{}, respond(req, sip.StatusBadRequest, "Malformed q in Contact"), OutcomeBadRequest
		}
		lr.Contacts = append(lr.Contacts, location.ContactUpdate{URI: uriString(&ch.Address), Expires: exp, Instance: instance, RegID: regID, Q: q})
	}
	flow, ok := readFlow(req, &lr)
	switch {
	case !ok:
		return lr, flow, respond(req, sip.StatusBadRequest, "Malformed Path"), OutcomeBadRequest
	case flow.severalFlows:
		return lr, flow, respond(req, sip.StatusBadRequest, reasonSeveralFlows), OutcomeBadRequest
	case flow.firstHopLacksFlows:
		return lr, flow, respond(req, 439, "First Hop Lacks Outbound Support"), OutcomeBadRequest
	}
	return lr, flow, nil, ""
}

// Reconfirm answers a retransmission of a REGISTER that was answered 200 OK (the UDP
// front end knows it by its bytes and source; udpfront.Config.Reconfirm): 200 OK
// again, with the AOR's bindings as they are now, its To tag the same as the first
// answer's (a hash of the request). Nothing is authenticated or applied again: the
// request's nonce count is spent, and its bindings are in the table already.
// Without the AOR's domain (deleted since) it is handled as a new request.
func (r *Handler) Reconfirm(req *sip.Request, datagramLen int) *sip.Response {
	now := r.clock()
	if req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.Via() == nil || !cseqMatches(req) {
		return r.HandleDatagram(req, datagramLen)
	}
	dom, ok := r.dir.Domain(strings.ToLower(req.Recipient.Host))
	to := req.To().Address
	if !ok || to.User == "" || !strings.EqualFold(to.Host, dom.Domain) {
		return r.HandleDatagram(req, datagramLen)
	}
	user, err := directory.CanonicalUser(to.User)
	if err != nil {
		return r.HandleDatagram(req, datagramLen)
	}
	aor := user + "@" + dom.Domain
	var contacts [4]location.ContactUpdate
	lr, flow, res, _ := r.locationRequest(req, aor, req.Source(), contacts[:0], now)
	if res != nil {
		return res // not for a request once answered 200 OK; as the handler answers it
	}
	var room [4]location.Binding
	return r.ok(req, lr, &flow, r.table.LookupAppend(room[:0], aor, now), datagramLen, now)
}

// refused answers a REGISTER the location table refused. Kept apart from bind so that
// the error target errors.As needs is only allocated when there is an error.
func (r *Handler) refused(req *sip.Request, aor string, err error) (*sip.Response, string) {
	var brief *location.IntervalTooBriefError
	switch {
	case errors.As(err, &brief):
		res := respond(req, sip.StatusIntervalToBrief, "Interval Too Brief")
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(brief.MinExpires))))
		return res, OutcomeTooBrief
	case errors.Is(err, location.ErrBadWildcard):
		return respond(req, sip.StatusBadRequest, reasonBadWildcard), OutcomeBadRequest
	case errors.Is(err, location.ErrTooManyContacts):
		return respond(req, sip.StatusForbidden, "Too Many Contacts"), OutcomeTooManyBinds
	case errors.Is(err, location.ErrOutOfOrder):
		// §10.3 step 7 only says the request fails. A 400, as Kamailio and OpenSIPS
		// answer: a 500 without Retry-After invites the device to retry blindly
		// with the same CSeq.
		return respond(req, sip.StatusBadRequest, reasonOutOfOrder), OutcomeBadRequest
	}
	r.log.Error(err, "while applying a REGISTER", "aor", aor)
	return respond(req, sip.StatusInternalServerError, "Server Internal Error"), OutcomeServerError
}

// ok builds the 200 OK: every binding with its remaining expiry, and Date. Over UDP
// it lists as many bindings as fit in maxUDPResponse, this request's first.
func (r *Handler) ok(req *sip.Request, lr location.Request, flow *regFlow, bindings []location.Binding, size int, now time.Time) *sip.Response {
	res := respond(req, sip.StatusOK, "OK")
	res.AppendHeader(dateHeader(now))
	addFlowHeaders(res, flow)
	bindings = orderForResponse(bindings, lr.Contacts)
	// Over UDP only: a budget gone negative (huge copied headers) must still limit.
	limited, budget := lr.Transport == "UDP", 0
	if limited && fitsUnmeasured(res, bindings, size) {
		limited = false
	}
	if limited {
		var n byteCounter // the size without rendering the response into a string
		res.StringWrite(&n)
		budget = maxUDPResponse - int(n)
	}
	for _, b := range bindings {
		v := b.ContactValue(now)
		if limited {
			need := len("Contact: ") + len(v) + len("\r\n")
			if need > budget {
				r.log.V(1).Info("200 OK lists fewer bindings than the AOR has: UDP size limit", "aor", lr.AOR)
				break
			}
			budget -= need
		}
		res.AppendHeader(sip.NewHeader("Contact", v))
	}
	return res
}

// Bounds of what a response adds to the request's copied headers, for fitsUnmeasured:
// its status line, Date, Content-Length, a To tag and Via's received and rport, and
// per header a compact name spelled out ("i" → "Call-ID"), a separator space, and
// the quotes and angle brackets a name-addr gains when it is rendered.
const (
	responseOverhead  = 192
	perHeaderOverhead = 16
)

// fitsUnmeasured reports whether the 200 OK surely fits maxUDPResponse with every
// binding, judged from the request's size as received: its copied headers cannot
// render longer than the request plus the overheads above. Measuring instead means
// rendering the response once more, a good part of the cost of answering.
func fitsUnmeasured(res *sip.Response, bindings []location.Binding, size int) bool {
	if size <= 0 {
		return false
	}
	total := size + responseOverhead + perHeaderOverhead*len(res.Headers())
	for _, b := range bindings {
		// "Contact: " + value + CRLF; the value's expiry has at most 10 digits.
		total += len("Contact: <>;expires=0123456789\r\n") + len(b.URI)
		if b.Q.Given() {
			total += len(";q=0.001")
		}
		if b.Instance != "" {
			total += len(`;+sip.instance="";reg-id=0123456789`) + len(b.Instance)
		}
	}
	return total <= maxUDPResponse
}

// orderForResponse puts the bindings this request touched first, keeping the order
// within each group. It reorders bs, which the location table returned for us alone,
// in place: at most a few dozen bindings, so moving them costs less than allocating.
func orderForResponse(bs []location.Binding, touched []location.ContactUpdate) []location.Binding {
	if len(touched) == 0 || len(bs) < 2 {
		return bs
	}
	front := 0
	for i := range bs {
		for _, c := range touched {
			if location.URIEqual(bs[i].URI, c.URI) {
				b := bs[i]
				copy(bs[front+1:i+1], bs[front:i])
				bs[front] = b
				front++
				break
			}
		}
	}
	return bs
}

// dateCache holds the Date header of the current second: formatting it is a good
// part of building a 200 OK, and every 200 within a second carries the same. The
// header is shared by those responses, which nothing modifies once built.
var dateCache atomic.Pointer[cachedDate]

type cachedDate struct {
	unix   int64
	header sip.Header
}

// dateHeader is Date: now as an RFC 1123 date in GMT, the SIP-date of RFC 3261
// §20.17.
func dateHeader(now time.Time) sip.Header {
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.unix == sec {
		return d.header
	}
	d := &cachedDate{unix: sec, header: sip.NewHeader("Date", now.UTC().Format(http.TimeFormat))}
	dateCache.Store(d)
	return d.header
}

// byteCounter is an io.StringWriter that only counts.
type byteCounter int

func (n *byteCounter) WriteString(s string) (int, error) {
	*n += byteCounter(len(s))
	return len(s), nil
}

// throttled answers a blocked source or AOR: 403 with Retry-After, small so that it
// amplifies nothing.
func throttled(req *sip.Request, after time.Duration) *sip.Response {
	res := respond(req, sip.StatusForbidden, guard.RefusalReason)
	guard.AddRetryAfter(res, after)
	return res
}

// reasonMalformedTo is the reason phrase of the 400 to a REGISTER whose To user
// has an escape that is not "%" HEXDIG HEXDIG (§25.1).
const reasonMalformedTo = "Malformed To"

// reasonBadWildcard is the reason phrase of the 400 to a "*" Contact that is not
// alone, or not with Expires: 0 (§10.3 step 6).
const reasonBadWildcard = "Invalid Wildcard"

// isSIPScheme reports whether a URI's scheme (as sipgo lower-cases it) is sip or
// sips, whose host is mandatory.
func isSIPScheme(scheme string) bool { return scheme == "sip" || scheme == "sips" }

// reasonSeveralFlows is the reason phrase of the 400 to a REGISTER with more than
// one Contact with +sip.instance and reg-id (RFC 5626 §6).
const reasonSeveralFlows = "More Than One Contact With reg-id"

// sipVersion is the only version we speak; §7.1 makes it case-insensitive.
const sipVersion = "SIP/2.0"

// versionNotSupported is the 505 to a request of another SIP version, itself in
// SIP/2.0 (respond copies the request's version).
func versionNotSupported(req *sip.Request) *sip.Response {
	res := respond(req, sip.StatusVersionNotSupported, "Version Not Supported")
	res.SipVersion = sipVersion
	return res
}

// reasonOutOfOrder is the reason phrase of the 400 to a REGISTER whose CSeq is not
// above the one stored under its Call-ID (§10.3 step 7).
const reasonOutOfOrder = "Out Of Order CSeq"

// reasonCSeqMismatch is the reason phrase of the 400 to a REGISTER whose CSeq names
// another method.
const reasonCSeqMismatch = "CSeq method does not match REGISTER"

// cseqMatches reports whether req's CSeq names REGISTER, the only method this
// handler is given; methods are case-sensitive (RFC 3261 §7.1), so "register" does
// not. req must have a CSeq.
func cseqMatches(req *sip.Request) bool {
	return req.CSeq().MethodName == sip.REGISTER
}

// transportOf names the transport req came over as bindings and metrics do: UDP,
// TCP, TLS, WS or WSS.
func transportOf(req *sip.Request) string { return strings.ToUpper(req.Transport()) }
