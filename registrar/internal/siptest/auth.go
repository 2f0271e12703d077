package siptest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar/digest"
)

// cnonce is the phone's client nonce: any value serves a test.
const cnonce = "0a4f113b"

// Authorization is the phone's answer to nonce: Account.Authorization with its
// algorithm (MD5 when none is set).
func (p *Phone) Authorization(method sip.RequestMethod, uri, nonce string, nc int) (string, error) {
	alg := p.Alg
	if alg == "" {
		alg = sipv1.DigestMD5
	}
	return p.Account.Authorization(alg, method, uri, nonce, nc)
}

// Authorization is the account's qop=auth answer to nonce (nonce count nc) for a
// request of method whose digest URI is uri, computed by registrar/digest with alg
// and the password: the value of an Authorization or Proxy-Authorization header.
func (a Account) Authorization(alg sipv1.DigestAlgorithm, method sip.RequestMethod, uri, nonce string, nc int) (string, error) {
	c := digest.Credentials{
		Username: a.User, Realm: a.Domain, Nonce: nonce, URI: uri, Algorithm: string(alg),
		CNonce: cnonce, QOP: "auth", NC: fmt.Sprintf("%08x", nc),
	}
	var err error
	c.Response, err = digest.Response(c, string(method), published.HA1(alg, a.User, a.Domain, a.Password))
	if err != nil {
		return "", err
	}
	return string(c.AppendTo(nil)), nil
}

// challenges are the headers a 401 or 407 challenges with.
var challenges = []string{"Proxy-Authenticate", "WWW-Authenticate"}

var nonceParam = regexp.MustCompile(`nonce="([^"]+)"`)

// Nonce returns the nonce of a 401 or 407.
func Nonce(res *sip.Response) (string, error) {
	for _, name := range challenges {
		if h := res.GetHeader(name); h != nil {
			if m := nonceParam.FindStringSubmatch(h.Value()); m != nil {
				return m[1], nil
			}
		}
	}
	return "", fmt.Errorf("no challenge in %d %s", res.StatusCode, res.Reason)
}

// IsStale reports a 401 or 407 whose challenge says stale=true: retry without
// asking the user.
func IsStale(res *sip.Response) bool {
	for _, name := range challenges {
		if h := res.GetHeader(name); h != nil && strings.Contains(h.Value(), "stale=true") {
			return true
		}
	}
	return false
}

var algorithmParam = regexp.MustCompile(`algorithm=([A-Za-z0-9-]+)`)

// ChallengeAlgorithms returns the algorithm of each challenge header of a 401 or
// 407, in order.
func ChallengeAlgorithms(res *sip.Response) []sipv1.DigestAlgorithm {
	var algs []sipv1.DigestAlgorithm
	for _, name := range challenges {
		for _, h := range res.GetHeaders(name) {
			if m := algorithmParam.FindStringSubmatch(h.Value()); m != nil {
				algs = append(algs, sipv1.DigestAlgorithm(m[1]))
			}
		}
	}
	return algs
}

// HeaderValue is the value of m's first header called name, "" when none.
func HeaderValue(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
