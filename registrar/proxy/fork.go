package proxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/location"
)

// call is one request proxied statefully (RFC 3261 §16, the "response context"):
// the server transaction toward the caller and one client transaction per branch.
type call struct {
	p      *Proxy
	req    *sip.Request
	tx     sip.ServerTransaction
	start  time.Time
	invite bool
	// mf, hash and rr build a branch's request again (over TCP, see resend).
	mf   uint32
	hash string
	rr   bool
	// retarget finds the AOR's hops anew (toAOR), for replaceFailedFlow; nil
	// when the request is not for an AOR of ours.
	retarget func() []hop
	// edge: another replica relayed req to a flow we hold (toFlow). That replica
	// is the authoritative proxy: our 430 goes back to it as is, and it tries
	// the AOR's other bindings (RFC 5626 §5.3).
	edge bool

	mu          sync.Mutex
	branches    []*branch
	finals      []final // in order of arrival
	answered    bool    // a 2xx went upstream
	finalSent   bool    // a final response went upstream (non-INVITE: the only one)
	cancelled   bool    // the caller sent CANCEL: sipgo already answered 487
	provisional bool    // a provisional response went upstream
	declined    bool    // a branch answered 6xx: no new branch (§16.7 step 5)
	expired     bool    // Timer C fired: no new branch
	// planned holds the hopKey of every hop of the search, tried or waiting
	// for its group; retargeted says the one re-reading of the targets a
	// transaction gets is spent (replaceFailedFlow).
	planned    map[string]bool
	retargeted bool
	// ringing counts the branches of the group now ringing; groupOver: its
	// serial-fork timeout fired. later are hops replaceFailedFlow found that
	// wait for a later group.
	ringing   *sync.WaitGroup
	groupOver bool
	later     []hop
}

// branch is one forwarded copy; its flags are guarded by call.mu.
type branch struct {
	hop                      hop
	req                      *sip.Request
	provisional, cancelWant  bool
	cancelSent, done, killed bool
	// timedOut: Timer C or the serial-fork timeout fired while it was pending;
	// its 487 then reads as 408.
	timedOut bool
	tx       sip.ClientTransaction
	// ended is closed with its final response.
	ended chan struct{}
}

// final is a branch's final response, or one this proxy made up for it.
type final struct {
	res  *sip.Response // nil when made up
	code int
}

// run forwards req to the hops and answers the caller; it returns when every
// branch it started has its final response, and reports the outcome.
//
// The hops are tried in groups of decreasing q (RFC 3261 §16.6: "in order of
// their q-value"), the hops of one group in parallel: the next group only once
// every branch of this one ended without a 2xx. A group of an INVITE that rings
// past the serial-fork timeout, while a group is left after it, is cancelled as
// Timer C would: a preferred phone nobody picks up must not hold the call from
// the others until the caller gives up. A 2xx, a 6xx, the caller's CANCEL or
// Timer C ends the search.
func (c *call) run(hops []hop) string {
	if c.invite {
		// We will take longer than 200 ms: stop the caller's retransmissions now.
		c.respond(sip.NewResponseFromRequest(c.req, sip.StatusTrying, "Trying", nil))
		// sipgo answers a CANCEL matching the INVITE itself: 200 to the CANCEL, then
		// 487 to the INVITE, which completes the server transaction. Ours is to
		// CANCEL every branch (RFC 3261 §16.10); their 487s end here, and a 2xx one
		// of them sends anyway still goes upstream (see respond).
		if !c.tx.OnCancel(func(*sip.Request) { c.cancelAll(true) }) {
			// The CANCEL came before we forked: nothing to cancel, nothing to send.
			return OutcomeCancelled
		}
		timerC := time.AfterFunc(c.p.timerC(), c.expireTimerC)
		defer timerC.Stop()
	}
	c.planned = make(map[string]bool, len(hops))
	for _, h := range hops {
		c.planned[hopKey(h)] = true
	}
	groups := byPreference(hops)
	for i := 0; i < len(groups); i++ {
		// Checked and started under one lock: cancelAll and expireTimerC then see
		// either the group's branches or that the search is over.
		c.mu.Lock()
		if c.searchOver() {
			c.mu.Unlock()
			break
		}
		var wg sync.WaitGroup
		start := len(c.branches)
		c.ringing, c.groupOver = &wg, false
		c.startBranches(groups[i])
		c.mu.Unlock()
		if limit := c.p.serialForkTimeout(); c.invite && limit > 0 {
			last := i == len(groups)-1
			next := time.AfterFunc(limit, func() {
				c.mu.Lock()
				// A timer that fired as its group ended leaves the next group
				// alone; the last group gives way only to targets a failed
				// flow's re-read found of lower q (replaceFailedFlow).
				if c.ringing != &wg || (last && len(c.later) == 0) {
					c.mu.Unlock()
					return
				}
				c.groupOver = true
				bs := c.branches[start:] // with those replaceFailedFlow added
				c.mu.Unlock()
				c.giveUp(bs)
			})
			wg.Wait()
			next.Stop()
		} else {
			wg.Wait()
		}
		c.mu.Lock()
		if len(c.later) > 0 {
			var rest []hop
			for _, g := range groups[i+1:] {
				rest = append(rest, g...)
			}
			groups = append(groups[:i+1], byPreference(append(rest, c.later...))...)
			c.later = nil
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	forks := len(c.branches)
	c.mu.Unlock()
	c.p.obs.Forks(forks)
	return c.finish()
}

// startBranches starts, under c.mu, a branch to each of hops in the group now
// ringing.
func (c *call) startBranches(hops []hop) {
	for _, h := range hops {
		b := &branch{hop: h, req: c.p.branchRequest(c.req, h, c.mf, c.hash, c.rr), ended: make(chan struct{})}
		c.branches = append(c.branches, b)
		c.ringing.Go(func() { c.runBranch(b) })
	}
}

// replaceFailedFlow answers a branch that ended with 430 Flow Failed: the flow
// it took is gone (RFC 5626 §5.3), because the device's connection closed, or
// because the binding moved or expired at the replica that held it after we
// read our targets. The authoritative proxy then tries another target of the
// AOR (RFC 5626 §5.3, §11.5), so the targets are read again, once per
// transaction (a flapping device cannot loop us), and a branch goes to each hop
// the search had not planned: the device's new binding, here or at another
// replica. Those of failed's q or higher ring at once in its group, unless its
// serial-fork timeout passed; the others wait for their own.
//
// A 430 we made up from the targets just read (a local flow already gone,
// hop.Fail) spends no re-read: one now would find the same.
func (c *call) replaceFailedFlow(failed *branch) {
	c.mu.Lock()
	if c.retarget == nil || c.retargeted || c.searchOver() || failed.hop.Fail != 0 {
		c.mu.Unlock()
		return
	}
	c.retargeted = true
	c.mu.Unlock()
	hops := c.retarget()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.searchOver() {
		return
	}
	var now []hop
	for _, h := range hops {
		if c.planned[hopKey(h)] {
			continue
		}
		c.planned[hopKey(h)] = true
		if !c.groupOver && preference(h.Q) >= preference(failed.hop.Q) {
			now = append(now, h)
		} else {
			c.later = append(c.later, h)
		}
	}
	if len(now) > 0 {
		c.p.log.V(1).Info("a flow failed: trying the targets found since", "method", c.req.Method.String(), "branches", len(now))
	}
	// failed is one of the ringing group's: c.ringing still counts it.
	c.startBranches(now)
}

// hopKey tells hops apart: the same target reached the same way (a relayed
// hop's signature, made anew for each, does not count).
func hopKey(h hop) string {
	return h.URI.String() + " " + h.Transport + " " + h.Dest + " " + strconv.Itoa(h.Fail)
}

// searchOver reports, under c.mu, whether no further group may start: a 2xx went
// upstream, a branch answered 6xx, the caller cancelled or Timer C fired.
func (c *call) searchOver() bool {
	return c.answered || c.finalSent || c.declined || c.cancelled || c.expired
}

// byPreference splits hops into groups of equal q, highest first, each in the
// order of hops. A hop without q counts as q=1.0 (a common choice; RFC 3261
// leaves it to the proxy): a device that states no preference is tried with the
// most preferred ones, as it was before q was read.
func byPreference(hops []hop) [][]hop {
	sorted := slices.Clone(hops)
	slices.SortStableFunc(sorted, func(a, b hop) int { return cmp.Compare(preference(b.Q), preference(a.Q)) })
	var groups [][]hop
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && preference(sorted[j].Q) == preference(sorted[i].Q) {
			j++
		}
		groups = append(groups, sorted[i:j])
		i = j
	}
	return groups
}

// preference is q in thousandths, 1000 (q=1.0) when none was given.
func preference(q location.Q) int {
	if n, ok := q.Thousandths(); ok {
		return n
	}
	return 1000
}

// runBranch drives one client transaction until its final response.
func (c *call) runBranch(b *branch) {
	if b.hop.Fail != 0 {
		c.branchFinal(b, final{code: b.hop.Fail})
		return
	}
	// The context bounds the connection a branch may open; the transaction lives by
	// its own timers (B, F, D, M).
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	tx, err := c.p.txs.Request(ctx, b.req)
	cancel()
	if errors.Is(err, sip.ErrUDPMTUCongestion) {
		tx, err = c.resendOverTCP(b)
	}
	if err != nil {
		c.p.log.V(1).Info("could not forward", "method", b.req.Method.String(), "to", b.req.Destination(), "error", err.Error())
		// A branch we cannot send behaves as if it answered 503 (RFC 3261 §16.9),
		// one too large for every transport the device allows as 513.
		code := sip.StatusServiceUnavailable
		if errors.Is(err, errTooLarge) {
			code = sip.StatusMessageTooLarge
		}
		c.branchFinal(b, final{code: code})
		return
	}
	c.mu.Lock()
	b.tx = tx
	kill := b.killed
	c.mu.Unlock()
	if kill {
		tx.Terminate()
	}
	if c.invite {
		// A 2xx retransmitted by the callee goes upstream too: only the callers's
		// ACK stops it (RFC 3261 §13.3.1.4, RFC 6026).
		tx.OnRetransmission(func(res *sip.Response) {
			if res.IsSuccess() {
				c.respond(c.upstream(res))
			}
		})
	}
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				c.branchProvisional(b, res)
				continue
			}
			c.branchFinal(b, final{res: res, code: res.StatusCode})
			return
		case <-tx.Done():
			code := sip.StatusRequestTimeout // silent, or terminated by Timer C
			if errors.Is(tx.Err(), sip.ErrTransactionTransport) {
				code = sip.StatusServiceUnavailable
			}
			c.branchFinal(b, final{code: code})
			return
		}
	}
}

func (c *call) branchProvisional(b *branch, res *sip.Response) {
	c.mu.Lock()
	b.provisional = true
	sendCancel := b.cancelWant && !b.cancelSent
	if sendCancel {
		b.cancelSent = true
	}
	// 100 Trying is hop by hop (RFC 3261 §16.7 step 5); to an INVITE we sent
	// our own. A non-INVITE gets no provisional above 100 (RFC 4320 §4.1: MUST
	// NOT send one), so a device's 1xx to a MESSAGE or SUBSCRIBE stops here.
	forward := c.invite && res.StatusCode > 100 && !c.answered && !c.finalSent && !c.cancelled
	first := forward && !c.provisional
	if forward {
		c.provisional = true
	}
	c.mu.Unlock()
	if sendCancel {
		go c.cancelBranch(b)
	}
	if first {
		c.p.obs.FirstProvisional(time.Since(c.start))
	}
	if forward {
		c.respond(c.upstream(res))
	}
}

func (c *call) branchFinal(b *branch, f final) {
	var up *sip.Response
	cancelOthers := false
	c.mu.Lock()
	if b.timedOut && f.code == sip.StatusRequestTerminated {
		// We CANCELled it because Timer C or the serial-fork timeout fired: to
		// the caller, a timeout.
		f = final{code: sip.StatusRequestTimeout}
	}
	b.done = true
	close(b.ended)
	c.finals = append(c.finals, f)
	switch {
	case f.res != nil && f.res.IsSuccess():
		// Every 2xx of an INVITE goes upstream at once (§16.7 step 5): each is a
		// dialog the caller must ACK (and may BYE). A non-INVITE has one final.
		if c.invite || !c.finalSent {
			up = f.res
		}
		cancelOthers = c.invite && !c.answered
		c.answered, c.finalSent = true, true
	case f.code >= 600:
		// A 6xx ends the search: no new branch, and the other branches are
		// cancelled (§16.7 step 5).
		c.declined = true
		cancelOthers = c.invite
	}
	c.mu.Unlock()
	if up != nil {
		c.respond(c.upstream(up))
	}
	if cancelOthers {
		c.cancelAll(false)
	}
	if f.code == StatusFlowFailed {
		c.replaceFailedFlow(b)
	}
}

// cancelAll CANCELs every branch still pending (RFC 3261 §16.10).
func (c *call) cancelAll(byCaller bool) {
	c.mu.Lock()
	if byCaller {
		c.cancelled = true
	}
	send := c.wantCancel(c.branches)
	c.mu.Unlock()
	for _, b := range send {
		go c.cancelBranch(b)
	}
}

// wantCancel, under c.mu, marks the pending branches of bs to be CANCELled and
// returns those to CANCEL now: the ones with a provisional response. The others
// are CANCELled when they get one (§9.1 forbids a CANCEL before).
func (c *call) wantCancel(bs []*branch) (send []*branch) {
	for _, b := range bs {
		if b.done || b.cancelWant {
			continue
		}
		b.cancelWant = true
		if b.provisional {
			b.cancelSent = true
			send = append(send, b)
		}
	}
	return send
}

// cancelBranch CANCELs b and bounds the wait for its final response: a branch
// still without one 64*T1 after its CANCEL ends as 408 (RFC 3261 §9.1).
func (c *call) cancelBranch(b *branch) {
	c.p.sendCancel(b.req)
	t := time.NewTimer(sip.Timer_B)
	defer t.Stop()
	select {
	case <-b.ended:
	case <-t.C:
		c.mu.Lock()
		tx := b.tx
		c.mu.Unlock()
		if tx != nil {
			tx.Terminate()
		}
	}
}

// expireTimerC ends an INVITE nobody answered (RFC 3261 §16.8).
func (c *call) expireTimerC() {
	c.mu.Lock()
	c.expired = true
	bs := c.branches // no branch starts once expired is set
	c.mu.Unlock()
	c.giveUp(bs)
}

// giveUp ends the pending branches of bs unanswered: ringing ones are CANCELled,
// silent ones end at once; either counts as 408 toward the caller, not as the
// 487 a CANCELled phone answers.
func (c *call) giveUp(bs []*branch) {
	var kill []sip.ClientTransaction
	c.mu.Lock()
	for _, b := range bs {
		b.timedOut = !b.done
	}
	send := c.wantCancel(bs)
	for _, b := range bs {
		if !b.done && !b.provisional {
			b.killed = true
			if b.tx != nil {
				kill = append(kill, b.tx)
			}
		}
	}
	c.mu.Unlock()
	for _, b := range send {
		go c.cancelBranch(b)
	}
	for _, tx := range kill {
		tx.Terminate()
	}
}

// finish sends the best final response once every branch answered, unless one
// already went upstream, and names the outcome.
func (c *call) finish() string {
	c.mu.Lock()
	answered, sent, cancelled := c.answered, c.finalSent, c.cancelled
	finals := c.finals
	c.mu.Unlock()
	switch {
	case answered:
		return OutcomeAnswered
	case cancelled:
		return OutcomeCancelled
	case sent:
		return OutcomeRejected
	}
	if !c.invite {
		// A branch of a non-INVITE that timed out is no answer: a 408 of ours to
		// a non-INVITE only adds to a network already losing requests, and comes
		// when its client's own Timer F has fired (RFC 4320 §4.2: MUST NOT). When
		// no branch has another, we send no final; the server transaction ends
		// as the handler returns. OutcomeTimeout says so to onNonINVITE.
		finals = slices.DeleteFunc(slices.Clone(finals), func(f final) bool {
			return f.res == nil && f.code == sip.StatusRequestTimeout
		})
		if len(finals) == 0 {
			return OutcomeTimeout
		}
	}
	codes := make([]int, len(finals))
	for i, f := range finals {
		codes[i] = f.code
	}
	i := Best(codes)
	if i < 0 {
		c.respond(sip.NewResponseFromRequest(c.req, sip.StatusRequestTimeout, "Request Timeout", nil))
		return OutcomeTimeout
	}
	f := finals[i]
	var res *sip.Response
	if f.res == nil {
		code, reason := c.upstreamStatus(f.code, reasonOf(f.code), true)
		res = sip.NewResponseFromRequest(c.req, code, reason, nil)
	} else {
		res = c.upstream(f.res)
		res.StatusCode, res.Reason = c.upstreamStatus(f.res.StatusCode, f.res.Reason, false)
		if f.code == sip.StatusUnauthorized || f.code == sip.StatusProxyAuthRequired {
			addChallenges(res, finals, i)
		}
	}
	c.respond(res)
	switch {
	case f.res == nil && f.code == sip.StatusRequestTimeout:
		return OutcomeTimeout
	case f.res == nil && f.code == sip.StatusMessageTooLarge:
		return OutcomeTooLarge
	case f.res == nil:
		return OutcomeUnreachable
	}
	return OutcomeRejected
}

// upstreamStatus is Upstream for code, ours when this proxy made it up, but a
// 430 goes back as is to the replica that relayed the request to a flow of ours:
// it is no caller, but the authoritative proxy, whom a 430 tells to try the
// AOR's other flows (RFC 5626 §5.3). So does a 503 of ours there: the flow's
// connection failed as we sent over it.
func (c *call) upstreamStatus(code int, reason string, ours bool) (int, string) {
	if c.edge && (code == StatusFlowFailed || ours && code == sip.StatusServiceUnavailable) {
		return StatusFlowFailed, reasonOf(StatusFlowFailed)
	}
	return Upstream(code, reason)
}

// addChallenges copies the challenges of every other 401 and 407 into the chosen
// one, so the caller can answer them all at once (RFC 3261 §16.7 step 7).
func addChallenges(res *sip.Response, finals []final, chosen int) {
	for i, f := range finals {
		if i == chosen || f.res == nil || (f.code != sip.StatusUnauthorized && f.code != sip.StatusProxyAuthRequired) {
			continue
		}
		for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
			for _, h := range f.res.GetHeaders(name) {
				res.AppendHeader(sip.HeaderClone(h))
			}
		}
	}
}

// upstream is res as the caller gets it: our Via removed (RFC 3261 §16.7 step 3),
// sent where the request came from.
func (c *call) upstream(res *sip.Response) *sip.Response {
	up := res.Clone()
	up.RemoveHeader("Via")
	up.SetTransport(c.req.Transport())
	up.SetDestination(c.req.Source())
	return up
}

func (c *call) respond(res *sip.Response) {
	err := c.tx.Respond(res)
	if err != nil && c.invite && res.IsSuccess() {
		// The server transaction refuses it once the caller's CANCEL made sipgo
		// answer 487 (or it ended): a 2xx still goes upstream, each one a dialog the
		// caller must ACK and may BYE (RFC 3261 §16.7 step 5, RFC 6026).
		err = c.writeDirect(res)
	}
	if err != nil {
		c.p.log.V(1).Info("could not relay a response", "status", res.StatusCode, "to", c.req.Source(), "error", err.Error())
	}
}

// writeDirect sends res to the caller outside the server transaction: over its
// connection (the UDP listener, or the caller's TCP connection), else through
// the transport layer.
func (c *call) writeDirect(res *sip.Response) error {
	if tx, ok := c.tx.(interface{ Connection() sip.Connection }); ok && tx.Connection() != nil {
		if err := tx.Connection().WriteMsg(res); err == nil {
			return nil
		}
	}
	if err := c.p.client.TransportLayer().WriteMsg(res); err != nil {
		return fmt.Errorf("while sending a %d outside its transaction: %w", res.StatusCode, err)
	}
	return nil
}

// sendCancel CANCELs a forwarded INVITE and waits for the CANCEL's own answer.
func (p *Proxy) sendCancel(inv *sip.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	tx, err := p.txs.Request(ctx, cancelFor(inv))
	cancel()
	if err != nil {
		p.log.V(1).Info("could not send CANCEL", "to", inv.Destination(), "error", err.Error())
		return
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return
			}
		case <-tx.Done():
			return
		}
	}
}

func reasonOf(code int) string {
	switch code {
	case StatusFlowFailed:
		return "Flow Failed"
	case sip.StatusMessageTooLarge:
		return "Message Too Large"
	case sip.StatusRequestTimeout:
		return "Request Timeout"
	case sip.StatusServiceUnavailable:
		return "Service Unavailable"
	}
	return "Error"
}
