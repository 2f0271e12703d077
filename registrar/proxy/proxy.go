// Package proxy is the registrar's location-service proxy (RFC 3261 §16): a
// request for a registered address of record is forked, statefully, to every live
// binding of the extension, whatever replica holds it; in-dialog requests that
// carry our Record-Route are relayed to their target. Targets (targets.go) finds
// where a request for an AOR goes.
package proxy

import (
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
)

// DefaultTimerC is how long an INVITE may ring unanswered; RFC 3261 §16.6 step 11
// asks for more than three minutes.
const DefaultTimerC = 3*time.Minute + 30*time.Second

// DefaultSerialForkTimeout is how long the devices of one q-value ring before the
// next, less preferred ones are tried: long enough to pick up a desk phone, short
// enough that a caller still waits for the fallback (a mobile, a voicemail).
const DefaultSerialForkTimeout = 30 * time.Second

// Config is what a Proxy needs; set every field but the optional ones.
type Config struct {
	// Client writes what goes without a transaction: ACKs, and responses outside
	// theirs.
	Client *sipgo.Client
	// Transactions sends forwarded requests and CANCELs in client transactions. It
	// must hand each transaction its responses in the order they arrived, as
	// package clienttx does (sipgo's own transaction layer does not), for a branch's
	// responses to reach the caller in that order (RFC 3261 §16.7).
	Transactions sipgo.ClientTransactionRequester
	Directory    directory.Directory
	Targets      *Targets
	Self         *Self
	// Nonces and Counts are the REGISTER handler's: a caller answers our challenge
	// with the same credentials and nonces as its REGISTER.
	Nonces *digest.NonceSigner
	Counts *digest.NonceCounts
	// Guard is the REGISTER handler's too: a wrong answer to our challenge counts
	// against the same throttles as a wrong REGISTER. Nil throttles nothing.
	Guard *guard.Guard
	// RecordRoute keeps this replica on the path of the dialogs it sets up.
	RecordRoute bool
	// RequireCallerAuth challenges callers whose From is a user of a domain we
	// serve.
	RequireCallerAuth bool
	// RoutedMethods are the methods routed to an extension's devices out of a
	// dialog (methods.go), upper case, or AllMethods alone; nil is
	// DefaultRoutedMethods.
	RoutedMethods []string
	// TimerC bounds ringing; 0 is DefaultTimerC.
	TimerC time.Duration
	// SerialForkTimeout bounds how long the branches of one q-value ring while
	// bindings of a lower q wait their turn; 0 is DefaultSerialForkTimeout, a
	// negative value leaves each group ringing until it answers or Timer C fires.
	SerialForkTimeout time.Duration
	Observer          Observer
	Log               logr.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// Proxy routes requests; create it with New.
type Proxy struct {
	client        *sipgo.Client
	txs           sipgo.ClientTransactionRequester
	dir           directory.Directory
	targets       *Targets
	self          *Self
	nonces        *digest.NonceSigner
	counts        *digest.NonceCounts
	guard         *guard.Guard
	recordRoute   bool
	requireAuth   bool
	routedMethods []string // methods routed out of a dialog, unless routeAll
	routeAll      bool
	timer         time.Duration
	serialFork    time.Duration
	obs           Observer
	log           logr.Logger
	now           func() time.Time
	pending       *pendingRequests // what a CANCEL of a non-INVITE matches
	silent        *endedKeys       // non-INVITEs that ended with no final response
	ended         *endedKeys       // non-INVITEs that ended over UDP, by cancelKey
}

// New returns a Proxy.
func New(cfg Config) *Proxy {
	p := &Proxy{client: cfg.Client, txs: cfg.Transactions, dir: cfg.Directory, targets: cfg.Targets, self: cfg.Self,
		nonces: cfg.Nonces, counts: cfg.Counts, guard: cfg.Guard, recordRoute: cfg.RecordRoute, requireAuth: cfg.RequireCallerAuth,
		timer: cfg.TimerC, serialFork: cfg.SerialForkTimeout, obs: cfg.Observer, log: cfg.Log, now: cfg.Now,
		pending: newPendingRequests()}
	p.routedMethods = cfg.RoutedMethods
	if p.routedMethods == nil {
		p.routedMethods = DefaultRoutedMethods
	}
	p.routeAll = slices.Contains(p.routedMethods, AllMethods)
	if p.obs == nil {
		p.obs = nopObserver{}
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.silent = newEndedKeys(endedKeysCapacity, sip.Timer_J, p.now)
	p.ended = newEndedKeys(endedKeysCapacity, sip.Timer_J, p.now)
	if p.targets != nil && p.targets.FlowAlive == nil && p.client != nil {
		p.targets.FlowAlive = p.hasConnection // failed flows give way to others (flow.go)
	}
	return p
}

func (p *Proxy) timerC() time.Duration {
	if p.timer > 0 {
		return p.timer
	}
	return DefaultTimerC
}

// serialForkTimeout is how long a group of one q rings before the next; 0 means no
// limit.
func (p *Proxy) serialForkTimeout() time.Duration {
	switch {
	case p.serialFork < 0:
		return 0
	case p.serialFork == 0:
		return DefaultSerialForkTimeout
	}
	return p.serialFork
}

// Register installs the proxy's handlers on srv: ACK's, CANCEL's, and, as
// sipgo's handler of methods without one of their own, that of every other
// method, named by sipgo or not (methods.go). REGISTER keeps the handler the
// caller installs.
func (p *Proxy) Register(srv *sipgo.Server) {
	srv.OnNoRoute(p.OnRequest)
	srv.OnAck(p.OnAck)
	srv.OnCancel(p.OnCancel)
}

// OnRequest is the sipgo handler of every method the proxy routes. It returns once
// the caller has its final response (sipgo ends the transaction then).
func (p *Proxy) OnRequest(req *sip.Request, tx sip.ServerTransaction) {
	if req.Method != sip.INVITE {
		p.onNonINVITE(req, tx)
		return
	}
	p.routed(req, p.handle(req, tx))
}

// onNonINVITE handles a request other than INVITE: a CANCEL of it finds it
// (OnCancel) while it is handled and, over UDP, for Timer J after (endedKeys), and
// a late retransmission of one that ended with no final response is absorbed.
func (p *Proxy) onNonINVITE(req *sip.Request, tx sip.ServerTransaction) {
	key, ok := serverTxKey(req) // before handle changes req
	if ok && p.silent.has(key) {
		p.routed(req, OutcomeRetransmission)
		return
	}
	cancels, cancelable := cancelKey(req)
	done := p.pending.add(req)
	outcome := p.handle(req, tx)
	done()
	// Over a reliable transport the transaction ends with the final response
	// (Timer J is 0, RFC 3261 §17.2.2): no CANCEL or retransmission comes later.
	if !sip.IsReliable(req.Transport()) {
		if cancelable {
			p.ended.remember(cancels)
		}
		// A non-INVITE's timeout is no answer at all (finish).
		if ok && outcome == OutcomeTimeout {
			p.silent.remember(key)
		}
	}
	p.routed(req, outcome)
}

// endedCancels reports whether cancel is of a non-INVITE that ended over UDP less
// than Timer J ago.
func (p *Proxy) endedCancels(cancel *sip.Request) bool {
	key, ok := cancelKey(cancel)
	return ok && p.ended.has(key)
}

// OnCancel answers a CANCEL that matched no INVITE we proxy: sipgo handles those
// itself (RFC 3261 §16.10). One of a request of another method we are handling,
// or that ended over UDP less than Timer J ago (the CANCEL crossed its final
// response, RFC 3261 §9.2), gets 200 and changes nothing more: a non-INVITE is
// not cancelled (§9.1), it runs until its branches answer or time out. Any other
// gets 481.
func (p *Proxy) OnCancel(req *sip.Request, tx sip.ServerTransaction) {
	if p.pending.cancels(req) || p.endedCancels(req) {
		p.reply(req, tx, sip.StatusOK, "OK")
		p.routed(req, OutcomeCancelNoEffect)
		return
	}
	p.reply(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	p.routed(req, OutcomeNoTransaction)
}

// routed counts req by its method's label and outcome.
func (p *Proxy) routed(req *sip.Request, outcome string) {
	p.obs.Routed(methodLabel(req.Method), outcome)
}

func (p *Proxy) handle(req *sip.Request, tx sip.ServerTransaction) string {
	if req.Method == sip.REGISTER {
		// The registrar's own: one that reaches us had no handler of its own,
		// and is no request to forward to an extension's devices.
		return p.notAllowed(req, tx)
	}
	// RFC 3261 §16.3: validation.
	if req.To() == nil || req.From() == nil || req.CallID() == nil || req.CSeq() == nil || req.Via() == nil {
		p.reply(req, tx, sip.StatusBadRequest, "Missing Mandatory Header")
		return OutcomeBadRequest
	}
	mf, ok := NextMaxForwards(req)
	if !ok {
		p.reply(req, tx, sip.StatusTooManyHops, "Too Many Hops")
		return OutcomeTooManyHops
	}
	if tags := ProxyRequireUnsupported(req); len(tags) > 0 {
		res := sip.NewResponseFromRequest(req, sip.StatusBadExtension, "Bad Extension", nil)
		res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
		p.send(tx, res)
		return OutcomeBadRequest
	}
	// §16.4: a Route naming us is ours to remove; one with a good flow token was
	// relayed by another replica to a device's flow we hold, after that replica
	// applied the caller policy.
	flowAOR := p.flowToken(req)
	popped := p.popOwnRoutes(req)
	hash := LoopHash(req)
	if IsLoop(req, hash, p.self.Ours) {
		p.reply(req, tx, sip.StatusLoopDetected, "Loop Detected")
		return OutcomeLoop
	}
	dom, served := p.dir.Domain(strings.ToLower(req.Recipient.Host))
	switch {
	case flowAOR != "":
		return p.toFlow(req, tx, flowAOR, mf, hash)
	case req.Route() == nil && served && req.Recipient.User != "" && !hasToTag(req):
		return p.toAOR(req, tx, dom, mf, hash)
	case popped:
		// In dialog (or a further pre-loaded route): on to the next hop. An initial
		// request on a pre-loaded route may be for one of our devices too (its
		// Contact as Request-URI): its caller faces the same policy, and it goes
		// nowhere else unless its caller authenticated (relay.go).
		if !hasToTag(req) {
			if !p.routes(req.Method) {
				return p.notAllowed(req, tx)
			}
			if res, outcome := p.callerPolicy(req, p.now()); res != nil {
				p.send(tx, res)
				return outcome
			}
			if !p.mayRelay(req) {
				p.log.V(1).Info("refused to relay an initial request on a pre-loaded route",
					"method", req.Method.String(), "to", req.Recipient.String(), "source", req.Source())
				p.reply(req, tx, sip.StatusForbidden, RelayDeniedReason)
				return OutcomeRelayDenied
			}
		}
		// In a dialog only a NOTIFY takes our Record-Route (recordRoutes); an
		// initial request on a pre-loaded route takes none.
		return p.forward(req, tx, []hop{p.nextHop(req)}, mf, hash, hasToTag(req) && p.recordRoutes(req))
	case req.Method == sip.OPTIONS && req.Recipient.User == "" && (served || p.self.Ours(req.Recipient.Host, req.Recipient.Port)):
		// A keepalive or capability query to the registrar itself (RFC 3261 §11).
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", p.allowExcept("")))
		p.send(tx, res)
		return OutcomeLocal
	}
	// Not for a domain we serve, and not on a route through us: we relay for no one.
	p.reply(req, tx, sip.StatusNotFound, "Not Found")
	return OutcomeNotFound
}

// toAOR routes a request for an address of record of a served domain, whatever
// its method (methods.go).
func (p *Proxy) toAOR(req *sip.Request, tx sip.ServerTransaction, dom *directory.Domain, mf uint32, hash string) string {
	if !p.routes(req.Method) {
		return p.notAllowed(req, tx)
	}
	now := p.now()
	if res, outcome := p.callerPolicy(req, now); res != nil {
		p.send(tx, res)
		return outcome
	}
	st, hops := p.aorHops(req, dom, now)
	switch {
	case st == NoSuchUser:
		p.reply(req, tx, sip.StatusNotFound, "Not Found")
		return OutcomeNotFound
	case len(hops) == 0: // Disabled, NotRegistered, or no binding we can reach
		p.reply(req, tx, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return OutcomeUnavailable
	}
	c := p.newCall(req, tx, mf, hash, p.recordRoutes(req))
	// A flow that failed (430) may have moved while we forked: its device
	// reconnected, here or to another replica (fork.go, replaceFailedFlow).
	c.retarget = func() []hop {
		_, hops := p.aorHops(req, dom, p.now())
		return hops
	}
	return c.run(hops)
}

// aorHops finds where req, for an AOR of dom, goes at now: the hops to its
// targets, none when it has no binding we can reach.
func (p *Proxy) aorHops(req *sip.Request, dom *directory.Domain, now time.Time) (Status, []hop) {
	user, err := directory.CanonicalUser(req.Recipient.User)
	if err != nil {
		return NoSuchUser, nil // a malformed escape names no extension
	}
	st, targets := p.targets.Find(dom.Domain, user, now)
	if st != Found {
		return st, nil
	}
	hops := make([]hop, 0, len(targets))
	aor := user + "@" + dom.Domain
	for _, t := range targets {
		if h, ok := p.hopFor(t, aor, req); ok {
			h.Q = t.Q
			hops = append(hops, h)
		}
	}
	return st, hops
}

// forward proxies req statefully to hops and answers the caller.
func (p *Proxy) forward(req *sip.Request, tx sip.ServerTransaction, hops []hop, mf uint32, hash string, rr bool) string {
	return p.newCall(req, tx, mf, hash, rr).run(hops)
}

// newCall is the response context of req, forwarded with Max-Forwards mf, loop
// hash and our Record-Route when rr.
func (p *Proxy) newCall(req *sip.Request, tx sip.ServerTransaction, mf uint32, hash string, rr bool) *call {
	return &call{p: p, req: req, tx: tx, start: p.now(), invite: req.Method == sip.INVITE, mf: mf, hash: hash, rr: rr}
}

func (p *Proxy) reply(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	p.send(tx, sip.NewResponseFromRequest(req, code, reason, nil))
}

func (p *Proxy) send(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		p.log.V(1).Info("could not send a response", "status", res.StatusCode, "error", err.Error())
	}
}

func hasToTag(req *sip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

// Targets returns the location service the proxy routes with: where a request for
// an AOR goes.
func (p *Proxy) Targets() *Targets { return p.targets }
