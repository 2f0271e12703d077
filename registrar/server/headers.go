package server

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/digest"
)

// errBadHeader marks a header we could not read; the answer is 400.
var errBadHeader = errors.New("malformed header")

// maxExpiresValue caps what we read from Expires values: RFC 3261 §20.19 allows up to
// 2^32-1, and anything above a day is lowered to the domain's maximum anyway.
const maxExpiresValue = 1<<32 - 1

// parseExpires reads an Expires header or expires parameter: a decimal delta-seconds.
// -1 means absent.
func parseExpires(v string, present bool) (int64, error) {
	if !present {
		return -1, nil
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 10 {
		return 0, errBadHeader
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > maxExpiresValue {
		return 0, errBadHeader
	}
	return int64(n), nil
}

// headerExpires returns the request's Expires header, -1 when absent.
func headerExpires(req *sip.Request) (int64, error) {
	var found sip.Header
	for _, h := range req.Headers() {
		if strings.EqualFold(h.Name(), "Expires") {
			if found != nil {
				return 0, errBadHeader
			}
			found = h
		}
	}
	if found == nil {
		return -1, nil
	}
	return parseExpires(found.Value(), true)
}

// firstHeader returns the first header called name, in any letter case. The headers
// read here have no compact form. Unlike sip's GetHeader and GetHeaders it does not
// allocate: those lower-case the name of every header they pass that sipgo does not
// know, such as Expires, Require or User-Agent, on every call.
func firstHeader(req *sip.Request, name string) sip.Header {
	for _, h := range req.Headers() {
		if strings.EqualFold(h.Name(), name) {
			return h
		}
	}
	return nil
}

// errNoCredentials says the request carries no Digest answer: it is challenged.
var errNoCredentials = errors.New("no digest credentials")

// credentialsFor returns the digest answer meant for realm, from Authorization or
// Proxy-Authorization: devices use either whatever the challenge style was, and a
// request may carry answers for other realms too (RFC 3261 §22.3), so the one for
// realm wins wherever it stands. Without one, a malformed Digest header is reported
// (the answer is 400), else an answer for another realm is returned (the caller
// challenges afresh), else errNoCredentials. Other schemes are not ours to judge.
func credentialsFor(req *sip.Request, realm string) (digest.Credentials, error) {
	var (
		other     digest.Credentials
		haveOther bool
		bad       error
	)
	for _, h := range req.Headers() {
		if name := h.Name(); !strings.EqualFold(name, "Authorization") && !strings.EqualFold(name, "Proxy-Authorization") {
			continue
		}
		c, err := digest.ParseCredentials(h.Value())
		switch {
		case errors.Is(err, digest.ErrNotDigest):
		case err != nil:
			if bad == nil {
				bad = err
			}
		case c.Realm == realm:
			return c, nil
		case !haveOther:
			other, haveOther = c, true
		}
	}
	switch {
	case bad != nil:
		return digest.Credentials{}, bad
	case haveOther:
		return other, nil
	}
	return digest.Credentials{}, errNoCredentials
}

// digestURIMatches reports whether the uri parameter of the credentials names the
// Request-URI's host (RFC 7616 §3.4.6: the server checks the answer was computed for
// this request). Only the scheme (sip or sips) and the host are compared: ports,
// parameters and letter case may differ where a NAT or the device rewrote them.
func digestURIMatches(uri string, ruri *sip.Uri) bool {
	i := strings.IndexByte(uri, ':')
	if i < 0 || (!strings.EqualFold(uri[:i], "sip") && !strings.EqualFold(uri[:i], "sips")) {
		return false
	}
	rest := uri[i+1:]
	// No '@' may appear after the userinfo (RFC 3261 §25.1), so the first one ends it.
	if at := strings.IndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if end := strings.IndexAny(rest, ";?"); end >= 0 {
		rest = rest[:end]
	}
	host := rest
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end >= 0 {
			host = host[:end+1]
		}
	} else if c := strings.IndexByte(host, ':'); c >= 0 {
		host = host[:c]
	}
	return host != "" && strings.EqualFold(host, ruri.Host)
}

// contactExpires returns a Contact's expires parameter; parameter names are
// case-insensitive (RFC 3261 §7.3.1), so ";Expires=60" counts.
func contactExpires(params sip.HeaderParams) (string, bool) {
	for _, kv := range params {
		if strings.EqualFold(kv.K, "expires") {
			return kv.V, true
		}
	}
	return "", false
}

// maxUserAgentLen bounds the User-Agent kept with a binding: it is published in the
// Extension status, and a device may send up to a whole message of it.
const maxUserAgentLen = 256

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// requiredExtensions lists the option tags of Require headers; we support none, so
// any is answered 420 (RFC 3261 §8.2.2.3).
func requiredExtensions(req *sip.Request) []string {
	var tags []string
	for _, h := range req.Headers() {
		if !strings.EqualFold(h.Name(), "Require") {
			continue
		}
		for t := range strings.SplitSeq(h.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// sourceHost is the IP part of a host:port source, the key brute-force throttling
// counts by; a source without a port is used whole.
func sourceHost(src string) string {
	if host, _, err := net.SplitHostPort(src); err == nil {
		return host
	}
	return strings.Trim(src, "[]")
}

// uriBuffers are the scratch space of uriString.
var uriBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// uriString renders a Contact's URI in one allocation of its exact size, the string
// the location table keeps. sipgo's Uri.String grows a builder a few bytes at a time:
// seven allocations per Contact on the hot path.
func uriString(u *sip.Uri) string {
	b := uriBuffers.Get().(*bytes.Buffer)
	b.Reset()
	u.StringWrite(b)
	s := b.String()
	uriBuffers.Put(b)
	return s
}
