package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// DefaultMaxForwards is what a forwarded request carries when it arrived without
// Max-Forwards (RFC 3261 §16.6 step 3).
const DefaultMaxForwards = 70

// NextMaxForwards returns the Max-Forwards a forwarded copy of req carries, or
// false when the request may not be forwarded: it arrived with Max-Forwards 0 and
// must be answered 483 Too Many Hops (RFC 3261 §16.3 step 3).
func NextMaxForwards(req *sip.Request) (uint32, bool) {
	mf := req.MaxForwards()
	if mf == nil {
		return DefaultMaxForwards, true
	}
	if *mf == 0 {
		return 0, false
	}
	return uint32(*mf) - 1, true
}

// branchPrefix marks the Via branches this proxy writes: the RFC 3261 magic cookie,
// then "rgo" and the loop hash, so that a request coming back can be recognised.
const branchPrefix = sip.RFC3261BranchMagicCookie + "rgo"

// LoopHash is the hash RFC 3261 §16.6 step 8 puts into the branch parameter for
// loop detection: the request's fields that a spiral changes (the Request-URI, or
// the Route set) and the transaction's identity. The same request coming back to us
// unchanged carries our branch with the same hash: that is a loop (§16.3 step 4).
func LoopHash(req *sip.Request) string {
	h := sha256.New()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	w(req.Recipient.String())
	if to := req.To(); to != nil {
		w(to.Params.GetOr("tag", ""))
	}
	if from := req.From(); from != nil {
		w(from.Params.GetOr("tag", ""))
	}
	if id := req.CallID(); id != nil {
		w(id.Value())
	}
	if cseq := req.CSeq(); cseq != nil {
		w(cseq.Value())
	}
	for _, name := range []string{"Route", "Proxy-Require", "Proxy-Authorization"} {
		for _, hdr := range req.GetHeaders(name) {
			w(hdr.Value())
		}
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:8])
}

// Branch returns a new branch for one forwarded copy of a request whose loop hash
// is hash: unique per branch, recognisable by IsLoop.
func Branch(hash string) string {
	var sb strings.Builder
	sb.WriteString(branchPrefix)
	sb.WriteString(hash)
	sb.WriteByte('.')
	return sip.RandStringBytesMask(&sb, 10)
}

// IsLoop reports whether req already passed this proxy unchanged (RFC 3261 §16.3
// step 4): a Via whose sent-by is ours carries a branch with req's loop hash. A Via
// of ours with another hash is a spiral (the Request-URI changed), which is fine.
func IsLoop(req *sip.Request, hash string, ours func(host string, port int) bool) bool {
	for _, hdr := range req.GetHeaders("Via") {
		via, ok := hdr.(*sip.ViaHeader)
		if !ok {
			continue
		}
		b, _ := sipparse.Param(via.Params, "branch")
		if !strings.HasPrefix(b, branchPrefix) || !ours(via.Host, via.Port) {
			continue
		}
		if rest := b[len(branchPrefix):]; strings.HasPrefix(rest, hash) && strings.HasPrefix(rest[len(hash):], ".") {
			return true
		}
	}
	return false
}

// ProxyRequireUnsupported returns the option tags of Proxy-Require: this proxy
// supports none, so any is answered 420 Bad Extension (RFC 3261 §16.3 step 5).
func ProxyRequireUnsupported(req *sip.Request) []string {
	var tags []string
	for _, hdr := range req.GetHeaders("Proxy-Require") {
		for t := range strings.SplitSeq(hdr.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// shortHash is 16 hex digits of the SHA-256 of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
