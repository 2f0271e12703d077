package udpfront

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sentby"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// DefaultShedAge is how long the REGISTERs taken off the socket may keep having
// waited in its receive queue before those without credentials are shed. A client
// retransmits after 500 ms (Timer E's T1): a challenge it gets later than that is
// work done twice, and the queue must drain well before the kernel, which drops the
// newest datagrams of a full buffer whatever they carry, decides in our place.
const DefaultShedAge = 100 * time.Millisecond

// staleShedAges is how many ShedAges a REGISTER may have waited before it is shed
// whether or not the waits stand (admission.observe): five, T1 at the default. Its
// client has sent it again by then, and the copy is behind it in the queue.
const staleShedAges = 5

// retryAfterSeconds spreads the clients a 503 turns away over this many seconds
// from 1, so that they do not all come back at once.
const retryAfterSeconds = 4

// crowdedShare is how full the socket's receive buffer may be before REGISTERs
// without credentials are shed whatever their age: half leaves the other half to
// absorb what arrives while the readers drain it at the cost of a 503 each.
const crowdedShare = 0.5

// admission is one reader's decision to shed REGISTERs without credentials. When
// the readers fall behind, the datagrams at the head of the queue are the oldest;
// those without credentials are shed, which drains the queue at a fraction of their
// cost, while a REGISTER with credentials, the second half of a registration whose
// challenge was already paid for, is always answered: it is the one that completes
// something.
//
// A wait past ShedAge alone does not shed: it must stand, past ShedAge in every
// REGISTER read for ShedAge of the reader's time, as a queue the readers cannot
// drain does. The backlog of a stall (a descheduled VM, a pod's CPU quota spent
// for the rest of its 100 ms period) drains in a few milliseconds, its oldest
// REGISTERs first and the young ones right behind: those are challenged late, as
// a C registrar would answer them, not refused. A crowded buffer or a wait past
// staleShedAges ShedAges sheds at once.
type admission struct {
	// pastSince is when (Unix nanoseconds, read time) the REGISTERs read began to
	// have waited past ShedAge, each one since; 0: the last one had not.
	pastSince int64
}

// observe takes the wait of the REGISTER read at now (0: unknown), ShedAge (0 or
// less: nothing is shed) and whether its batch left the socket's buffer crowded,
// and tells whether that REGISTER is shed if it carries no credentials.
func (ad *admission) observe(age, limit time.Duration, now int64, crowded bool) bool {
	switch {
	case limit <= 0:
		return false
	case crowded:
		return true
	case age == 0:
		return false // no stamp: no telling
	case age <= limit:
		ad.pastSince = 0
		return false
	case age > staleShedAges*limit:
		return true
	case ad.pastSince == 0:
		ad.pastSince = now
	}
	return time.Duration(now-ad.pastSince) >= limit
}

// unavailable is the answer to a shed REGISTER: 503 with Retry-After (RFC 3261
// §21.5.4), no challenge. It ends the client's transaction, so it does not
// retransmit, and a client that honours Retry-After comes back once the load is
// gone, as a silent drop would not tell it to.
// Its top Via, sipgo's copy, gains received when the sent-by is not the source
// (RFC 3261 §18.2.1), as the handler's responses do; sipgo adds it only for rport.
func unavailable(req *sip.Request) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable", nil)
	if via := res.Via(); via != nil {
		src, err := netip.ParseAddrPort(req.Source())
		// sipgo answers "rport" alone, not "; rport" (RFC 3261 §25.1): answered here.
		if v, i := sipparse.Param(via.Params, "rport"); err == nil && i >= 0 && v == "" {
			via.Params[i] = sip.HeaderKV{K: "rport", V: strconv.Itoa(int(src.Port()))}
			via.Params.Add("received", src.Addr().Unmap().String())
		}
		if _, i := sipparse.Param(via.Params, "received"); err == nil && i < 0 && !sentby.IsSource(via.Host, src.Addr()) {
			via.Params.Add("received", src.Addr().Unmap().String())
		}
	}
	res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(1+rand.IntN(retryAfterSeconds))))
	return res
}
