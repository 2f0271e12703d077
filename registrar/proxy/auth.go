package proxy

import (
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
)

// authenticate applies the caller policy: a request whose From is an extension of
// the called domain must carry digest credentials of that extension, checked as a
// REGISTER's are (same HA1, nonces, nonce counts and digest-URI rule, all from
// package digest). Callers from elsewhere (a carrier, another domain) pass: they
// have no credentials here. It returns nil when the request may go on; then our
// credentials are removed from it, as the next hops have no use for them (and UDP
// messages must stay small).
func (p *Proxy) authenticate(req *sip.Request, dom *directory.Domain, now time.Time) (*sip.Response, string) {
	from := req.From().Address
	if from.User == "" || !strings.EqualFold(from.Host, dom.Domain) {
		return nil, ""
	}
	cred, ok := p.dir.Credential(dom.Domain, from.User)
	if !ok {
		return nil, ""
	}
	c, err := digest.CredentialsFor(req, dom.Realm)
	switch {
	case errors.Is(err, digest.ErrNoCredentials):
		return p.challenge(req, dom, cred, now, false), OutcomeChallenged
	case err != nil:
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Malformed Credentials", nil), OutcomeBadRequest
	}
	alg, ok := digest.AlgorithmOf(c)
	if !ok || !digest.Accepts(dom.Algorithms, cred.Algorithms, alg) {
		return p.challenge(req, dom, cred, now, false), OutcomeChallenged
	}
	nonceErr := p.nonces.Check(c.Nonce, dom.Realm, now)
	if errors.Is(nonceErr, digest.ErrNonceInvalid) {
		return p.challenge(req, dom, cred, now, false), OutcomeChallenged
	}
	ha1 := cred.HA1(alg)
	if c.Username != from.User || ha1 == "" || !digest.URIMatches(c.URI, &req.Recipient) || !digest.Verify(c, req.Method.String(), ha1) {
		return sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil), OutcomeForbidden
	}
	if nonceErr != nil || !p.counts.Use(c.Nonce, c.NonceCount(), now) {
		// Right password, old or reused nonce: a fresh one, without asking the user.
		return p.challenge(req, dom, cred, now, true), OutcomeChallenged
	}
	digest.RemoveCredentials(req, dom.Realm)
	return nil, ""
}

// challenge answers 407 with the challenges digest.AddChallenges picks for the
// caller's extension, as a REGISTER is challenged. A proxy always challenges with
// 407, whatever style the domain uses for REGISTER (RFC 3261 §22.3).
func (p *Proxy) challenge(req *sip.Request, dom *directory.Domain, cred *directory.Credential, now time.Time, stale bool) *sip.Response {
	style := digest.ProxyAuthRequired
	res := sip.NewResponseFromRequest(req, style.Code, style.Reason, nil)
	digest.AddChallenges(res, style, dom.Realm, p.nonces.Issue(dom.Realm, now), dom.Algorithms, cred.Algorithms, stale)
	return res
}
