package register

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/location"
)

// errTwoExpires refuses a REGISTER with two Expires headers; the answer is 400.
var errTwoExpires = errors.New("two Expires headers")

// maxExpiresValue caps what we read from Expires values: RFC 3261 §20.19 allows up to
// 2^32-1, and anything above a day is lowered to the domain's maximum anyway.
const maxExpiresValue = 1<<32 - 1

// malformedExpires is what an Expires header or expires parameter that is no
// decimal number counts as: "Malformed values SHOULD be treated as equivalent to
// 3600" (RFC 3261 §20.10, §20.19). The domain's bounds apply to it as to any.
const malformedExpires = 3600

// parseExpires reads an Expires header or expires parameter: a decimal
// delta-seconds, -1 when absent. One that is no decimal number counts as 3600;
// one of more digits than 2^32-1 as 2^32-1 (the domain's maximum lowers both).
func parseExpires(v string, present bool) int64 {
	if !present {
		return -1
	}
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
		return malformedExpires
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > maxExpiresValue {
		return maxExpiresValue
	}
	return int64(n)
}

// headerExpires returns the request's Expires header, -1 when absent. Two are an
// error: which one the device meant is unknown.
func headerExpires(req *sip.Request) (int64, error) {
	var found sip.Header
	for _, h := range req.Headers() {
		if strings.EqualFold(h.Name(), "Expires") {
			if found != nil {
				return 0, errTwoExpires
			}
			found = h
		}
	}
	if found == nil {
		return -1, nil
	}
	return parseExpires(found.Value(), true), nil
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

// contactExpires returns a Contact's expires parameter; parameter names are
// case-insensitive (RFC 3261 §7.3.1), so ";Expires=60" counts, and may have
// whitespace around them (paramName).
func contactExpires(params sip.HeaderParams) (string, bool) {
	for _, kv := range params {
		if paramName(kv.K, "expires") {
			return strings.TrimSpace(kv.V), true
		}
	}
	return "", false
}

// contactQ reads a Contact's q parameter (RFC 3261 §20.10), names and values
// with whitespace around them as paramName reads them: the zero Q when there is
// none; ok is false when its value is not a qvalue of §25.1:
//
//	qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
func contactQ(params sip.HeaderParams) (q location.Q, ok bool) {
	for _, kv := range params {
		if !paramName(kv.K, "q") {
			continue
		}
		if q, ok = location.ParseQ(strings.TrimSpace(kv.V)); !ok {
			return 0, false
		}
	}
	return q, true
}

// paramName reports whether a header parameter's name, as a parser kept it, is
// name in any letter case. RFC 3261 §25.1 allows whitespace around the ";" and
// "=" between parameters (SEMI and EQUAL: "; expires = 0" is expires=0), which
// sipgo's parsers keep in the name (" expires", "expires "), and so does ours on
// the UDP fast path, which builds sipgo's request exactly; so whoever reads a
// parameter trims its name, and its value.
func paramName(k, name string) bool {
	return strings.EqualFold(strings.TrimSpace(k), name)
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

// requiredExtensions lists the option tags of Require headers we do not support
// (all but outbound and path), answered 420 (RFC 3261 §8.2.2.3).
func requiredExtensions(req *sip.Request) []string {
	var tags []string
	for _, h := range req.Headers() {
		if !strings.EqualFold(h.Name(), "Require") {
			continue
		}
		for t := range strings.SplitSeq(h.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" && !supportedExtension(t) {
				tags = append(tags, t)
			}
		}
	}
	return tags
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
