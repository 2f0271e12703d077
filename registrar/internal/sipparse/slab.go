package sipparse

import (
	"slices"

	"github.com/emiago/sipgo/sip"
)

// slab holds one REGISTER's request and the headers a REGISTER usually carries, so
// that parsing it allocates once for all of them where sipgo allocates each header,
// and each header's parameters, on its own. A header the slab has no room for (a
// third Via, a second From) is allocated alone; what a header's parser reads stays
// sipgo's.
//
// Its rooms are sized for the usual REGISTER, not the largest: the slab's bytes pace
// the garbage collector as much as the allocations it saves.
//
// A Parser reuses its slab for its next request (parse.go): a request and its headers
// live until then, so nothing may keep them past answering the request. Their
// strings point into the datagram's own copy, not into the slab, and stay valid.
type slab struct {
	req     sip.Request
	via     [2]sip.ViaHeader // a phone's, and a proxy's before it
	contact [1]sip.ContactHeader
	from    sip.FromHeader
	to      sip.ToHeader
	callID  sip.CallIDHeader
	cseq    sip.CSeqHeader
	maxFwd  sip.MaxForwardsHeader
	length  sip.ContentLengthHeader
	// params is shared by the headers' parameters, each header taking the next
	// part: Via's branch and rport, From's tag, a Contact's expires and
	// +sip.instance and reg-id. Six keeps the slab in the 1,536-byte size class.
	params [6]sip.HeaderKV
	// used counts what is taken of each room above.
	vias, contacts, nparams   int
	hasFrom, hasTo, hasCallID bool
	hasCSeq, hasMaxFwd        bool
	hasLength                 bool
}

// newVia returns an empty Via from the slab, else a new one.
func (s *slab) newVia() *sip.ViaHeader {
	if s.vias < len(s.via) {
		s.vias++
		return &s.via[s.vias-1]
	}
	return new(sip.ViaHeader)
}

func (s *slab) newContact() *sip.ContactHeader {
	if s.contacts < len(s.contact) {
		s.contacts++
		return &s.contact[s.contacts-1]
	}
	return new(sip.ContactHeader)
}

func (s *slab) newFrom() *sip.FromHeader { return takeRoom(&s.hasFrom, &s.from) }

func (s *slab) newTo() *sip.ToHeader { return takeRoom(&s.hasTo, &s.to) }

func (s *slab) newCallID() *sip.CallIDHeader { return takeRoom(&s.hasCallID, &s.callID) }

func (s *slab) newCSeq() *sip.CSeqHeader { return takeRoom(&s.hasCSeq, &s.cseq) }

func (s *slab) newMaxForwards() *sip.MaxForwardsHeader { return takeRoom(&s.hasMaxFwd, &s.maxFwd) }

func (s *slab) newContentLength() *sip.ContentLengthHeader { return takeRoom(&s.hasLength, &s.length) }

// freeParams is the room left for a header's parameters: empty, and capped so that
// growing past it allocates rather than overwrites the next header's.
func (s *slab) freeParams() sip.HeaderParams {
	return s.params[s.nparams:s.nparams:len(s.params)]
}

// keepParams settles a header's parameters parsed into freeParams: nil when there
// are none, as sipgo leaves them, else capped at their length (a later Add copies
// rather than overwrites what follows), their room taken when they are in it.
func (s *slab) keepParams(p sip.HeaderParams) sip.HeaderParams {
	if len(p) == 0 {
		return nil
	}
	if s.nparams < len(s.params) && &p[0] == &s.params[s.nparams] {
		s.nparams += len(p)
	}
	return slices.Clip(p)
}

// takeRoom returns room the first time, marking it taken in taken, and a new T after:
// a request's second From or Call-ID is allocated alone.
func takeRoom[T any](taken *bool, room *T) *T {
	if *taken {
		return new(T)
	}
	*taken = true
	return room
}
