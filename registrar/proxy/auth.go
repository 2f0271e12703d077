package proxy

import (
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
)

// authenticate applies the caller policy: a request whose From is an extension of
// the called domain must carry digest credentials of that extension, checked as a
// REGISTER's are (same HA1, nonces, nonce counts and digest-URI rule, all from
// package digest, and the same guessing guard: a wrong answer counts against the
// throttles REGISTER consults, and a source they hold back is refused here too).
// Callers from elsewhere (a carrier, another domain) pass: they have no credentials
// here. It returns nil when the request may go on; then our credentials are removed
// from it, as the next hops have no use for them (and UDP messages must stay small).
func (p *Proxy) authenticate(req *sip.Request, dom *directory.Domain, now time.Time) (*sip.Response, string) {
	from := req.From().Address
	if from.User == "" || !strings.EqualFold(from.Host, dom.Domain) {
		return nil, ""
	}
	src := guard.SourceHost(req.Source())
	if blocked, after := p.guard.SourceBlocked(src, now); blocked {
		return p.refuse(req, guard.KindSource, after)
	}
	cred, ok := p.dir.Credential(dom.Domain, from.User)
	if !ok {
		return nil, ""
	}
	c, err := digest.CredentialsFor(req, dom.Realm)
	switch {
	case errors.Is(err, digest.ErrNoCredentials):
		return p.challenge(req, dom, cred, now, false, ""), OutcomeChallenged
	case err != nil:
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Malformed Credentials", nil), OutcomeBadRequest
	}
	alg, ok := digest.AlgorithmOf(c)
	if !ok || !digest.Accepts(dom.Algorithms, cred.Algorithms, alg) {
		return p.challenge(req, dom, cred, now, false, ""), OutcomeChallenged
	}
	// An answer computed for another target is refused, but it is no guess at the
	// password (which is not checked): as for REGISTER, it is not counted.
	if !digest.URIMatches(c.URI, &req.Recipient) {
		return sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil), OutcomeForbidden
	}
	nonceErr, returnable := guard.CheckNonce(p.nonces, c.Nonce, dom.Realm, src, now)
	if errors.Is(nonceErr, digest.ErrNonceInvalid) {
		return p.challenge(req, dom, cred, now, false, ""), OutcomeChallenged
	}
	aor := from.User + "@" + dom.Domain
	boundTo := "" // a nonce bound to the source's address is followed by another
	switch verdict, kind, after := p.guard.Verdict(aor, src, now); {
	case verdict == guard.Refuse:
		return p.refuse(req, kind, after)
	case verdict == guard.JudgeIfReturnable && !returnable:
		// stale=true: the device retries at once, without asking its user.
		return p.challenge(req, dom, cred, now, true, src), OutcomeChallenged
	case returnable:
		boundTo = src
	}
	ha1 := cred.HA1(alg)
	if c.Username != from.User || ha1 == "" || !digest.Verify(c, req.Method.String(), ha1) {
		p.guard.Failed(aor, src, now)
		return sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil), OutcomeForbidden
	}
	if nonceErr != nil || !p.counts.Use(c.Nonce, c.NonceCount(), now) {
		// Right password, old or reused nonce: a fresh one, without asking the user.
		return p.challenge(req, dom, cred, now, true, boundTo), OutcomeChallenged
	}
	digest.RemoveCredentials(req, dom.Realm)
	return nil, ""
}

// challenge answers 407 with the challenges digest.AddChallenges picks for the
// caller's extension, as a REGISTER is challenged. A proxy always challenges with
// 407, whatever style the domain uses for REGISTER (RFC 3261 §22.3). A nonce bound
// to an address (boundTo, "" for none) is only good from that address.
func (p *Proxy) challenge(
	req *sip.Request, dom *directory.Domain, cred *directory.Credential, now time.Time, stale bool, boundTo string,
) *sip.Response {
	style := digest.ProxyAuthRequired
	res := sip.NewResponseFromRequest(req, style.Code, style.Reason, nil)
	nonce := p.nonces.Issue(guard.NonceRealm(dom.Realm, boundTo), now)
	digest.AddChallenges(res, style, dom.Realm, nonce, dom.Algorithms, cred.Algorithms, stale)
	return res
}

// refuse answers a caller the guard holds back as REGISTER does: 403 with
// Retry-After.
func (p *Proxy) refuse(req *sip.Request, kind string, after time.Duration) (*sip.Response, string) {
	p.obs.Throttled(kind)
	res := sip.NewResponseFromRequest(req, sip.StatusForbidden, guard.RefusalReason, nil)
	guard.AddRetryAfter(res, after)
	return res, OutcomeThrottled
}
