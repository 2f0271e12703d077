package udpfront

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// DefaultShedAge is how long a REGISTER without credentials may have waited in the
// socket's receive queue and still be challenged. A client retransmits after 500 ms
// (Timer E's T1): a challenge it gets later than that is work done twice, and the
// queue must drain well before the kernel, which drops the newest datagrams of a full
// buffer whatever they carry, decides in our place.
const DefaultShedAge = 100 * time.Millisecond

// retryAfterSeconds spreads the clients a 503 turns away over this many seconds
// from 1, so that they do not all come back at once.
const retryAfterSeconds = 4

// crowdedShare is how full the socket's receive buffer may be before REGISTERs
// without credentials are shed whatever their age: half leaves the other half to
// absorb what arrives while the readers drain it at the cost of a 503 each.
const crowdedShare = 0.5

// admits decides whether a REGISTER that waited age in the receive queue goes to the
// handler. When the readers fall behind, the datagrams at the head of the queue are
// the oldest; those without credentials are shed, which drains the queue at a
// fraction of their cost, while a REGISTER with credentials, the second half of a
// registration whose challenge was already paid for, is always answered: it is the
// one that completes something. A limit of 0 or less sheds nothing; so does an
// unknown age (0).
func admits(age, limit time.Duration, credentialed bool) bool {
	return credentialed || limit <= 0 || age <= limit
}

// unavailable is the answer to a shed REGISTER: 503 with Retry-After (RFC 3261
// §21.5.4), no challenge. It ends the client's transaction, so it does not
// retransmit, and a client that honours Retry-After comes back once the load is
// gone, as a silent drop would not tell it to.
func unavailable(req *sip.Request) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable", nil)
	res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(1+rand.IntN(retryAfterSeconds))))
	return res
}
