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
// the called domain must carry digest credentials of that extension, checked like
// a REGISTER's (same HA1, nonces and nonce counts). Callers from elsewhere (a
// carrier, another domain) pass: they have no credentials here. It returns nil when
// the request may go on; then our credentials are removed from it, as the next hops
// have no use for them (and UDP messages must stay small).
func (p *Proxy) authenticate(req *sip.Request, dom *directory.Domain, now time.Time) (*sip.Response, string) {
	from := req.From().Address
	if from.User == "" || !strings.EqualFold(from.Host, dom.Domain) {
		return nil, ""
	}
	cred, ok := p.dir.Credential(dom.Domain, from.User)
	if !ok {
		return nil, ""
	}
	c, found, bad := credentialsFor(req, dom.Realm)
	switch {
	case bad:
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Malformed Credentials", nil), OutcomeBadRequest
	case !found:
		return p.challenge(req, dom, cred, now, false), OutcomeChallenged
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
	if c.Username != from.User || ha1 == "" || !uriNames(c.URI, &req.Recipient) || !digest.Verify(c, req.Method.String(), ha1) {
		return sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil), OutcomeForbidden
	}
	if nonceErr != nil || !p.counts.Use(c.Nonce, c.NonceCount(), now) {
		// Right password, old or reused nonce: a fresh one, without asking the user.
		return p.challenge(req, dom, cred, now, true), OutcomeChallenged
	}
	removeCredentials(req, dom.Realm)
	return nil, ""
}

// challenge answers 407 with one Proxy-Authenticate per algorithm
// digest.ChallengeAlgorithms picks for the caller's extension, as a REGISTER is
// challenged. A proxy always challenges with 407, whatever style the domain uses
// for REGISTER (RFC 3261 §22.3).
func (p *Proxy) challenge(req *sip.Request, dom *directory.Domain, cred *directory.Credential, now time.Time, stale bool) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusProxyAuthRequired, "Proxy Authentication Required", nil)
	nonce := p.nonces.Issue(dom.Realm, now)
	for _, alg := range digest.ChallengeAlgorithms(dom.Algorithms, cred.Algorithms) {
		ch := digest.Challenge{Realm: dom.Realm, Nonce: nonce, Algorithm: alg, Stale: stale}
		res.AppendHeader(sip.NewHeader("Proxy-Authenticate", ch.String()))
	}
	return res
}

// credentialsFor finds the Digest answer for realm in Proxy-Authorization or
// Authorization (devices use either). bad is a malformed Digest answer.
func credentialsFor(req *sip.Request, realm string) (c digest.Credentials, found, bad bool) {
	for _, h := range req.Headers() {
		if !isCredentialsHeader(h.Name()) {
			continue
		}
		v, err := digest.ParseCredentials(h.Value())
		switch {
		case errors.Is(err, digest.ErrNotDigest):
		case err != nil:
			bad = true
		case v.Realm == realm:
			return v, true, false
		}
	}
	return digest.Credentials{}, false, bad
}

// removeCredentials drops the answers meant for realm (RFC 3261 §22.3), keeping
// those for other realms in their order.
func removeCredentials(req *sip.Request, realm string) {
	for _, name := range []string{"Proxy-Authorization", "Authorization"} {
		hs := req.GetHeaders(name)
		var keep []sip.Header
		for _, h := range hs {
			if c, err := digest.ParseCredentials(h.Value()); err != nil || c.Realm != realm {
				keep = append(keep, h)
			}
		}
		if len(keep) == len(hs) {
			continue
		}
		for range hs {
			req.RemoveHeader(hs[0].Name())
		}
		for _, h := range keep {
			req.AppendHeader(h)
		}
	}
}

func isCredentialsHeader(name string) bool {
	return strings.EqualFold(name, "Proxy-Authorization") || strings.EqualFold(name, "Authorization")
}

// uriNames reports whether the digest uri names the Request-URI's host (RFC 7616
// §3.4.6), as the REGISTER handler checks it; ports and parameters may differ.
func uriNames(uri string, ruri *sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	return strings.EqualFold(u.Host, ruri.Host)
}
