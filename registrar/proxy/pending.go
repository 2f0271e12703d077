package proxy

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// pendingRequests are the requests other than INVITE being handled, by matchKey,
// so that a CANCEL of one is answered 200 (RFC 3261 §9.2, §16.10): sipgo's
// transaction layer matches a CANCEL to an INVITE only, and hands us any other
// as a new request. Its size is that of the handlers running.
type pendingRequests struct {
	mu sync.Mutex
	m  map[string]pendingRequest
}

// pendingRequest is what a CANCEL must share with the request besides its key:
// copies, as the handler changes the request (its Route, Max-Forwards).
type pendingRequest struct {
	callID string
	seq    uint32
}

func newPendingRequests() *pendingRequests {
	return &pendingRequests{m: make(map[string]pendingRequest)}
}

// add records req until done is called. One sharing the key of another being
// handled (a broken client reusing a branch for another method) is not recorded:
// a CANCEL of it gets 481.
func (ps *pendingRequests) add(req *sip.Request) (done func()) {
	key, ok := matchKey(req)
	if !ok || req.CallID() == nil {
		return func() {}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, taken := ps.m[key]; taken {
		return func() {}
	}
	ps.m[key] = pendingRequest{callID: req.CallID().Value(), seq: req.CSeq().SeqNo}
	return func() {
		ps.mu.Lock()
		delete(ps.m, key)
		ps.mu.Unlock()
	}
}

// cancels reports whether cancel matches a request being handled: the same key,
// Call-ID and CSeq number.
func (ps *pendingRequests) cancels(cancel *sip.Request) bool {
	key, ok := matchKey(cancel)
	if !ok || cancel.CallID() == nil {
		return false
	}
	ps.mu.Lock()
	p, found := ps.m[key]
	ps.mu.Unlock()
	return found && p.callID == cancel.CallID().Value() && p.seq == cancel.CSeq().SeqNo
}
