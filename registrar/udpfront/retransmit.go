package udpfront

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// DefaultCacheSize bounds the retransmission cache: two generations of at most this
// many responses (about 600 bytes each, so some 20 MB at most).
const DefaultCacheSize = 16384

// cacheWindow is how long a generation collects responses before it becomes the old
// one. A client retransmits a REGISTER after 0.5, 1.5, 3.5, 7.5 s… (Timer E), so a
// lost response is usually asked for again within a generation or two.
const cacheWindow = 8 * time.Second

// retransmissionKey identifies a REGISTER's transaction (RFC 3261 §17.2.3: the top
// Via's branch and sent-by, and the method, always REGISTER here) and the address it
// came from, so a cached response only ever goes back where the first copy came from.
//
// Only a request with credentials is worth a key: a retransmission of one would
// otherwise be refused (its nonce count was used) or fail as out of order (its CSeq
// was applied), while a retransmitted unauthenticated REGISTER is simply challenged
// again. A request without an RFC 3261 branch cannot be matched and gets no key.
func retransmissionKey(req *sip.Request, from netip.AddrPort) (string, bool) {
	via := req.Via()
	if via == nil || !hasCredentials(req) {
		return "", false
	}
	branch, ok := via.Params.Get("branch")
	if !ok || !strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(branch) + len(via.Host) + 32)
	b.WriteString(branch)
	b.WriteByte('|')
	b.WriteString(via.Host)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(via.Port))
	b.WriteByte('|')
	b.WriteString(from.String())
	return b.String(), true
}

// hasCredentials looks for either header in one pass, without the lower-casing
// GetHeader does.
func hasCredentials(req *sip.Request) bool {
	for _, h := range req.Headers() {
		if n := h.Name(); strings.EqualFold(n, "Authorization") || strings.EqualFold(n, "Proxy-Authorization") {
			return true
		}
	}
	return false
}

// responseCache keeps the responses to recent credentialed REGISTERs in two
// generations: lookups see both, inserts go to the young one, and the young one
// becomes the old one when it is full or cacheWindow old. Memory is bounded by the
// size whatever the rate; at high rates the time a response stays shrinks.
type responseCache struct {
	mu      sync.Mutex
	size    int
	young   map[string][]byte
	old     map[string][]byte
	started time.Time
	now     func() time.Time
}

func newResponseCache(size int) *responseCache {
	// The maps grow with use: a registrar that sees few credentialed REGISTERs
	// should not hold room for thousands.
	c := &responseCache{size: size, now: time.Now}
	c.young = map[string][]byte{}
	c.started = c.now()
	return c
}

func (c *responseCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.young[key]; ok {
		return b, true
	}
	b, ok := c.old[key]
	return b, ok
}

// put keeps a copy of res for key.
func (c *responseCache) put(key string, res []byte) {
	kept := append([]byte(nil), res...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.young) >= c.size || c.now().Sub(c.started) >= cacheWindow {
		c.old = c.young
		c.young = make(map[string][]byte, len(c.old)) // the rate is likely the same
		c.started = c.now()
	}
	c.young[key] = kept
}
