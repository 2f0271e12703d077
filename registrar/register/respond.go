package register

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"unsafe"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sentby"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// respond builds the response to a REGISTER (RFC 3261 §8.2.6): the request's Vias,
// From, To, Call-ID and CSeq in that order, a To tag, RFC 3581's received and rport
// on the top Via when it asks for rport, and Content-Length. That is what sipgo's
// NewResponseFromRequest builds, header for header, with three differences:
//
//   - Headers the response does not change are the request's own, not copies: every
//     Via but a top one that gains received, From, Call-ID, CSeq, and a To that has
//     a tag. Neither message is modified once the response is built, and the copies
//     were a fifth of the allocations of an authenticated REGISTER, which the
//     collector's pauses turn into latency.
//   - The To tag is derived from the request instead of drawn at random (toTag).
//   - A top Via whose sent-by is not the source address gets received even without
//     rport (RFC 3261 §18.2.1), which sipgo leaves to its caller.
func respond(req *sip.Request, code int, reason string) *sip.Response {
	parts := new(responseParts) // the response and what it does not share with req
	// Copied in: NewResponse's own allocation stays on the stack, and only its
	// header list is allocated apart.
	parts.res = *sip.NewResponse(code, reason)
	res := &parts.res
	res.SipVersion = req.SipVersion
	top := true
	for _, h := range req.Headers() {
		if via, ok := h.(*sip.ViaHeader); ok {
			if top {
				via = parts.withReceived(via, req.Source())
				top = false
			}
			res.AppendHeader(via)
		}
	}
	if h := req.From(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.To(); h != nil {
		res.AppendHeader(parts.withTag(h, req))
	}
	if h := req.CallID(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.CSeq(); h != nil {
		res.AppendHeader(h)
	}
	// What SetBody(nil) appends, without its allocation: Content-Length: 0.
	res.AppendHeader(&parts.length)
	res.SetTransport(req.Transport())
	res.SetDestination(req.Source())
	return res
}

// responseParts holds a response to a REGISTER and the headers it does not share
// with the request: a top Via with received and rport, a To with a tag, and
// Content-Length, with room for their usual parameters and the tag's text.
type responseParts struct {
	res     sip.Response
	via     sip.ViaHeader
	viaRoom [3]sip.HeaderKV // branch, rport, received
	to      sip.ToHeader
	toRoom  [1]sip.HeaderKV // the tag
	tag     [2 * tagBytes]byte
	length  sip.ContentLengthHeader
}

// withReceived is the top Via of the response: a copy with received and rport set
// to where the request came from when it asks for rport (RFC 3581 §4); a copy with
// received alone when its sent-by names a host other than the source address, a
// name or another IP (RFC 3261 §18.2.1: a phone behind a NAT); else the request's
// own.
func (p *responseParts) withReceived(via *sip.ViaHeader, source string) *sip.ViaHeader {
	host, port, _ := net.SplitHostPort(source)
	// "; rport" counts (RFC 3261 §25.1), and is answered in its place.
	rport, at := sipparse.Param(via.Params, "rport")
	askedRport := at >= 0 && rport == ""
	if !askedRport && (host == "" || sentby.IsSource(via.Host, sourceAddr(host))) {
		return via
	}
	p.via = *via
	p.via.Params = append(p.viaRoom[:0], via.Params...) // room for received
	if askedRport {
		p.via.Params[at] = sip.HeaderKV{K: "rport", V: port}
	}
	if _, at := sipparse.Param(p.via.Params, "received"); at >= 0 {
		p.via.Params[at] = sip.HeaderKV{K: "received", V: host}
	} else {
		p.via.Params.Add("received", host)
	}
	return &p.via
}

// sourceAddr is the address of a request's source host; the zero Addr, which
// matches no sent-by, when it is not one.
func sourceAddr(host string) netip.Addr {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

// withTag is the To of the response: the request's own when it has a tag, else a
// copy with the tag toTag gives.
func (p *responseParts) withTag(to *sip.ToHeader, req *sip.Request) *sip.ToHeader {
	if to.Params.Has("tag") {
		return to
	}
	p.to = sip.ToHeader{DisplayName: to.DisplayName, Address: to.Address}
	p.to.Params = append(p.toRoom[:0], to.Params...)
	p.to.Params.Add("tag", toTag(req, &p.tag))
	return &p.to
}

// tagBytes is how many bytes of the hash a tag takes.
const tagBytes = 8

// tagKey makes tags unguessable from outside this process.
var tagKey = func() [32]byte {
	var k [32]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails (Go 1.24+)
	return k
}()

// toTag is the To tag for a response to req. A stateless UAS, which the UDP front end
// is, must give every copy of a request the same tag (RFC 3261 §8.2.7), so the tag is
// a keyed hash of what identifies the request: its Call-ID, From tag, CSeq and top
// Via branch. The key makes it as unpredictable as the random 32 bits §19.3 asks for;
// 64 bits of it are used.
// The tag's text is written into text, which the string returned shares.
func toTag(req *sip.Request, text *[2 * tagBytes]byte) string {
	var stack [256]byte
	b := append(stack[:0], tagKey[:]...)
	if h := req.CallID(); h != nil {
		b = append(b, h.Value()...)
	}
	b = append(b, 0)
	if h := req.From(); h != nil {
		tag, _ := h.Params.Get("tag")
		b = append(b, tag...)
	}
	b = append(b, 0)
	if h := req.CSeq(); h != nil {
		b = binary.BigEndian.AppendUint32(b, h.SeqNo)
		b = append(b, h.MethodName...)
	}
	b = append(b, 0)
	if h := req.Via(); h != nil {
		branch, _ := sipparse.Param(h.Params, "branch")
		b = append(b, branch...)
	}
	sum := sha256.Sum256(b)
	hex.Encode(text[:], sum[:tagBytes])
	return unsafe.String(&text[0], len(text))
}
