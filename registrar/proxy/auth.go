package proxy

import (
	"crypto/md5" //nolint:gosec // only for the size of an MD5 HA1
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/guard"
)

// callerPolicy is authenticate when callers must authenticate; else every request
// may go on (nil).
func (p *Proxy) callerPolicy(req *sip.Request, now time.Time) (*sip.Response, string) {
	if !p.requireAuth {
		return nil, ""
	}
	return p.authenticate(req, now)
}

// authenticate applies the caller policy: a request whose From is a user of a
// domain we serve must carry digest credentials of that extension, checked as a
// REGISTER's are (same HA1, nonces, nonce counts and digest-URI rule, all from
// package digest, and the same guessing guard: a wrong answer counts against the
// throttles REGISTER consults, and a source they hold back is refused here too).
// Callers from elsewhere (a carrier, a domain we do not serve) pass: they have no
// credentials here. It returns nil when the request may go on; then our
// credentials are removed from it, as the next hops have no use for them (and UDP
// messages must stay small).
//
// A user that is no extension (or a disabled one) is challenged and refused as a
// wrong password is, with the same digest work: its answers tell a caller nothing
// about which extensions exist.
func (p *Proxy) authenticate(req *sip.Request, now time.Time) (*sip.Response, string) {
	from := req.From().Address
	if from.User == "" {
		return nil, ""
	}
	dom, served := p.dir.Domain(strings.ToLower(from.Host))
	if !served {
		return nil, ""
	}
	// The caller's extension as the directory names it: "%31001" is 1001
	// (RFC 3261 §19.1.4), as for REGISTER. A malformed escape names no
	// extension, and is refused rather than let through unchallenged.
	user, err := directory.CanonicalUser(from.User)
	if err != nil {
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Malformed From", nil), OutcomeBadRequest
	}
	src := guard.SourceHost(req.Source())
	if blocked, after := p.guard.SourceBlocked(src, now); blocked {
		return p.refuse(req, guard.KindSource, after)
	}
	// The extension's own algorithms shape the challenge, as for REGISTER; an
	// unknown one is challenged as an extension without them.
	cred, known := p.dir.Credential(dom.Domain, user)
	var own []sipv1.DigestAlgorithm
	if known {
		own = cred.Algorithms
	}
	c, err := digest.CredentialsFor(req, dom.Realm)
	switch {
	case errors.Is(err, digest.ErrNoCredentials):
		return p.challenge(req, dom, own, now, false, ""), OutcomeChallenged
	case err != nil:
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Malformed Credentials", nil), OutcomeBadRequest
	}
	alg, ok := digest.AlgorithmOf(c)
	if !ok || !digest.Accepts(dom.Algorithms, own, alg) {
		return p.challenge(req, dom, own, now, false, ""), OutcomeChallenged
	}
	// An answer computed for another target is refused, but it is no guess at the
	// password (which is not checked): as for REGISTER, it is not counted.
	if !digest.URIMatches(c.URI, &req.Recipient) {
		return sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil), OutcomeForbidden
	}
	nonceErr, returnable := guard.CheckNonce(p.nonces, c.Nonce, dom.Realm, src, now)
	if errors.Is(nonceErr, digest.ErrNonceInvalid) {
		return p.challenge(req, dom, own, now, false, ""), OutcomeChallenged
	}
	aor := user + "@" + dom.Domain
	boundTo := "" // a nonce bound to the source's address is followed by another
	switch verdict, kind, after := p.guard.Verdict(aor, src, now); {
	case verdict == guard.Refuse:
		return p.refuse(req, kind, after)
	case verdict == guard.JudgeIfReturnable && !returnable:
		// stale=true: the device retries at once, without asking its user.
		return p.challenge(req, dom, own, now, true, src), OutcomeChallenged
	case returnable:
		boundTo = src
	}
	ha1, real := "", false
	if known {
		ha1 = cred.HA1(alg)
		real = ha1 != ""
	}
	if !real {
		ha1 = dummyHA1(alg) // the same hashing as for a real extension
	}
	right := digest.Verify(c, req.Method.String(), ha1)
	if c.Username != user || !real || !right {
		p.guard.Failed(aor, src, now)
		return sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil), OutcomeForbidden
	}
	if nonceErr != nil || !p.counts.Use(c.Nonce, c.NonceCount(), now) {
		// Right password, old or reused nonce: a fresh one, without asking the user.
		return p.challenge(req, dom, own, now, true, boundTo), OutcomeChallenged
	}
	digest.RemoveCredentials(req, dom.Realm)
	return nil, ""
}

// challenge answers 407 with the challenges digest.AddChallenges picks for the
// caller's extension (own are its algorithms, nil for the domain's preference), as
// a REGISTER is challenged. A proxy always challenges with 407, whatever style the
// domain uses for REGISTER (RFC 3261 §22.3). A nonce bound to an address (boundTo,
// "" for none) is only good from that address.
func (p *Proxy) challenge(
	req *sip.Request, dom *directory.Domain, own []sipv1.DigestAlgorithm, now time.Time, stale bool, boundTo string,
) *sip.Response {
	style := digest.ProxyAuthRequired
	res := sip.NewResponseFromRequest(req, style.Code, style.Reason, nil)
	nonce := p.nonces.Issue(guard.NonceRealm(dom.Realm, boundTo), now)
	digest.AddChallenges(res, style, dom.Realm, nonce, dom.Algorithms, own, stale)
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

// dummyHA1s stand in for the HA1 of a caller that is no extension: random, so
// that no answer matches them (and none would be let through anyway).
var dummyHA1s = map[sipv1.DigestAlgorithm]string{
	sipv1.DigestMD5:    randomHex(md5.Size),
	sipv1.DigestSHA256: randomHex(sha256.Size),
}

// dummyHA1 is an HA1 of the size alg's real ones have.
func dummyHA1(alg sipv1.DigestAlgorithm) string { return dummyHA1s[alg] }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: since Go 1.24 crypto/rand crashes instead
	return hex.EncodeToString(b)
}
