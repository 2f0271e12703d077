package digest

import (
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// ErrNoCredentials says a request carries no Digest answer for the realm: it is
// challenged.
var ErrNoCredentials = errors.New("digest: no credentials for the realm")

// The REGISTER handler, the proxy and the UDP front end read credentials from a
// request only through the functions below, so that "which headers carry an answer,
// and which answer is ours" is decided in one place.

// CarriesCredentials reports whether req has an Authorization or a
// Proxy-Authorization header, whatever its scheme, realm or syntax. It reads the
// names in one pass, without the lower-casing sip's GetHeader does.
func CarriesCredentials(req *sip.Request) bool {
	for _, h := range req.Headers() {
		if isCredentialsHeader(h.Name()) {
			return true
		}
	}
	return false
}

// CredentialsFor returns the Digest answer meant for realm, from Authorization or
// Proxy-Authorization: devices use either whatever the challenge style was, and a
// request may carry answers for other realms too (RFC 3261 §22.3), so the one for
// realm wins wherever it stands. Without one, it returns the error of a malformed
// Digest header (wrapping ErrMalformedCredentials: the answer is 400), else
// ErrNoCredentials (the request is challenged). Other schemes are not ours to judge.
func CredentialsFor(req *sip.Request, realm string) (Credentials, error) {
	var bad error
	for _, h := range req.Headers() {
		if !isCredentialsHeader(h.Name()) {
			continue
		}
		c, err := ParseCredentials(h.Value())
		switch {
		case errors.Is(err, ErrNotDigest):
		case err != nil:
			if bad == nil {
				bad = err
			}
		case c.Realm == realm:
			return c, nil
		}
	}
	if bad != nil {
		return Credentials{}, bad
	}
	return Credentials{}, ErrNoCredentials
}

// RemoveCredentials drops the answers meant for realm, which the next hops have no
// use for (RFC 3261 §22.3), keeping those for other realms in their order.
func RemoveCredentials(req *sip.Request, realm string) {
	for _, name := range [...]string{"Proxy-Authorization", "Authorization"} {
		hs := req.GetHeaders(name)
		var keep []sip.Header
		for _, h := range hs {
			if c, err := ParseCredentials(h.Value()); err != nil || c.Realm != realm {
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
	return strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Proxy-Authorization")
}
