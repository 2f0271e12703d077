package udpfront

import (
	"bytes"
	"hash/maphash"
	"net/netip"
)

// DefaultSourceRefusals is how many shed REGISTERs a second one source address
// (its IP, whatever the port) is answered 503; the others it sends while shedding
// lasts are dropped unanswered. A phone that honours Retry-After sends one REGISTER
// and then waits 1–4 s, so a few a second cover every phone behind one NAT that a
// registrar turns away at once; past that, a source is flooding, and a 503 per
// datagram only feeds a client that ignores Retry-After (SIPp places a new call at
// once) at the cost of the registrations that complete.
const DefaultSourceRefusals = 10

// DefaultRefusals is how many 503s a second all sources together get when shedding:
// it bounds what refusing costs (a few microseconds each) however many addresses a
// flood comes from, spoofed ones included.
const DefaultRefusals = 5000

// sourceSlots is how many sources a reader keeps a budget for: a source is hashed,
// with a seed of the process's own, to a slot and the few after it (sourceProbe);
// when none of those is its own or free, it takes over the one refilled longest ago
// (a new source starts with a full budget). The table's size is fixed: no flood
// makes it grow, and a flood from many addresses is bounded by the budget for all.
const sourceSlots = 4096

// sourceProbe is how many slots from its hash a source may take.
const sourceProbe = 4

// refusalBudget is one reader's allowance of 503s for the REGISTERs it sheds: a
// token bucket per source address and one for all of them. Each reader has its own,
// with its share of the rates, so that readers take no lock to refuse.
type refusalBudget struct {
	seed               maphash.Seed
	perSource, all     float64 // tokens a second
	sourceBurst, burst float64 // at most this many saved
	sources            [sourceSlots]sourceBucket
	last               *sourceBucket // the last source's: a flood's datagrams come in runs
	total              tokenBucket
}

// sourceBucket is one source's budget.
type sourceBucket struct {
	addr netip.Addr // the zero Addr: free
	tokenBucket
}

// newRefusalBudget gives one of readers readers its share of perSource and all 503s
// a second; a budget of 0 or less is no limit (nil: every shed REGISTER is answered).
func newRefusalBudget(perSource, all float64, readers int) *refusalBudget {
	if perSource <= 0 && all <= 0 {
		return nil
	}
	share := func(rate float64) float64 {
		if rate <= 0 {
			return 0
		}
		return max(rate/float64(readers), 1)
	}
	b := &refusalBudget{seed: maphash.MakeSeed(), perSource: share(perSource), all: share(all)}
	b.sourceBurst, b.burst = b.perSource, b.all // a second's worth
	return b
}

// allow tells whether a REGISTER from from, shed at now (Unix nanoseconds), is
// answered 503; if not, it is dropped unanswered. A source's token is spent only
// when the budget for all has one too.
func (b *refusalBudget) allow(from netip.Addr, now int64) bool {
	if b == nil {
		return true
	}
	var src *tokenBucket
	if b.perSource > 0 {
		src = b.source(from.Unmap())
		if !src.take(now, b.perSource, b.sourceBurst) {
			return false
		}
	}
	if b.all > 0 && !b.total.take(now, b.all, b.burst) {
		if src != nil {
			src.tokens++ // not spent: nothing was sent
		}
		return false
	}
	return true
}

// source is from's bucket.
func (b *refusalBudget) source(from netip.Addr) *tokenBucket {
	if b.last != nil && b.last.addr == from {
		return &b.last.tokenBucket
	}
	h := maphash.Comparable(b.seed, from)
	var stalest *sourceBucket
	for i := range uint64(sourceProbe) {
		s := &b.sources[(h+i)%sourceSlots]
		if s.addr == from {
			b.last = s
			return &s.tokenBucket
		}
		if stalest == nil || s.at < stalest.at { // a free slot's at is 0
			stalest = s
		}
	}
	*stalest = sourceBucket{addr: from}
	b.last = stalest
	return &stalest.tokenBucket
}

// tokenBucket holds up to burst tokens, refilled at rate a second.
type tokenBucket struct {
	tokens float64
	at     int64 // when tokens was last refilled (Unix nanoseconds); 0: never used
}

func (t *tokenBucket) take(now int64, rate, burst float64) bool {
	switch {
	case t.at == 0:
		t.tokens, t.at = burst, now
	case now > t.at:
		t.tokens = min(burst, t.tokens+float64(now-t.at)*rate/1e9)
		t.at = now
	}
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

// rawCredentials tells whether a request's raw header carries Authorization or
// Proxy-Authorization, from a scan of its line starts: a shed REGISTER without them
// may then be dropped without reading anything else. A header it cannot find the
// end of counts as credentials: the parser decides for those.
func rawCredentials(data []byte) bool {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return true
	}
	head := data[:end+2]
	for {
		i := bytes.Index(head, []byte("\r\n"))
		if i < 0 {
			return false
		}
		head = head[i+2:]
		if len(head) == 0 {
			return false
		}
		switch head[0] | 0x20 { // ASCII letters to lower case
		case 'a':
			if headerNamed(head, "authorization") {
				return true
			}
		case 'p':
			if headerNamed(head, "proxy-authorization") {
				return true
			}
		}
	}
}

// headerNamed tells whether line is a header named name (in any case), spaces
// allowed before its colon.
func headerNamed(line []byte, name string) bool {
	if len(line) <= len(name) || !bytes.EqualFold(line[:len(name)], []byte(name)) {
		return false
	}
	rest := bytes.TrimLeft(line[len(name):], " \t")
	return len(rest) > 0 && rest[0] == ':'
}
