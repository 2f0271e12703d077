package proxy

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// matchKey is what a server transaction is matched by (RFC 3261 §17.2.3) but its
// method, which a CANCEL does not share with the request it cancels (§9.2): the
// top Via's branch and sent-by; for an RFC 2543 client, whose branch lacks the
// magic cookie, the From tag, Call-ID, CSeq number and top Via. ok is false when
// req lacks what the key needs.
func matchKey(req *sip.Request) (key string, ok bool) {
	via, cseq := req.Via(), req.CSeq()
	if via == nil || cseq == nil {
		return "", false
	}
	branch, _ := via.Params.Get("branch")
	if len(branch) > len(sip.RFC3261BranchMagicCookie) && strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) {
		port := via.Port
		if port <= 0 {
			port = sip.DefaultPort(via.Transport)
		}
		// A host is case-insensitive (§19.1.4); '|' is in no branch or host.
		return branch + "|" + strings.ToLower(via.Host) + "|" + strconv.Itoa(port), true
	}
	from, callID := req.From(), req.CallID()
	if from == nil || callID == nil {
		return "", false
	}
	tag, _ := from.Params.Get("tag")
	return "2543|" + tag + "|" + callID.Value() + "|" + strconv.FormatUint(uint64(cseq.SeqNo), 10) + "|" + via.Value(), true
}

// serverTxKey is the key of req's server transaction (RFC 3261 §17.2.3): its
// matchKey and method.
func serverTxKey(req *sip.Request) (string, bool) {
	key, ok := matchKey(req)
	if !ok {
		return "", false
	}
	return key + "|" + string(req.CSeq().MethodName), true
}

// cancelKey is what a CANCEL shares with the request it cancels (RFC 3261 §9.1):
// the request's matchKey, Call-ID and CSeq number.
func cancelKey(req *sip.Request) (string, bool) {
	key, ok := matchKey(req)
	if !ok || req.CallID() == nil {
		return "", false
	}
	return key + "|" + req.CallID().Value() + "|" + strconv.FormatUint(uint64(req.CSeq().SeqNo), 10), true
}
