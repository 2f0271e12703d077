package udpfront

import (
	"bytes"
	"hash/maphash"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// DefaultCacheSize bounds the retransmission cache: two generations of at most this
// many responses and bytesPerEntry bytes each on average (some 11 MB per generation
// at about 700 bytes an entry, 16 MB at most).
const DefaultCacheSize = 16384

// cacheWindow is how long a generation collects responses before it becomes the old
// one. A client retransmits a REGISTER after 0.5, 1.5, 3.5, 7.5 s… (Timer E), so a
// lost response is usually asked for again within a generation or two.
const cacheWindow = 8 * time.Second

// retransmissionKey appends to dst what identifies a REGISTER's transaction (RFC
// 3261 §17.2.3: the top Via's branch and sent-by, and the method, always REGISTER
// here) and the address it came from, so a cached response only ever goes back
// where the first copy came from.
//
// Only a request with credentials is worth a key: a retransmission of one would
// otherwise be refused (its nonce count was used) or fail as out of order (its CSeq
// was applied), while a retransmitted unauthenticated REGISTER is simply challenged
// again. A request without an RFC 3261 branch cannot be matched and gets no key.
func retransmissionKey(dst []byte, req *sip.Request, from netip.AddrPort) ([]byte, bool) {
	via := req.Via()
	if via == nil || !digest.CarriesCredentials(req) {
		return dst, false
	}
	// "; branch = z9hG4bK…" is the branch too (RFC 3261 §25.1).
	branch, i := sipparse.Param(via.Params, "branch")
	if i < 0 || !strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) {
		return dst, false
	}
	dst = append(dst, branch...)
	dst = append(dst, '|')
	dst = append(dst, via.Host...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(via.Port), 10)
	dst = append(dst, '|')
	return from.AppendTo(dst), true
}

// bytesPerEntry bounds a generation's arena: size entries of this many bytes on
// average (a 200 OK with one binding and its key take about 700).
const bytesPerEntry = 1024

// responseCache keeps the responses to recent credentialed REGISTERs in two
// generations: lookups see both, inserts go to the young one, and the young one
// becomes the old one when it is full or cacheWindow old. Memory is bounded by the
// size whatever the rate; at high rates the time a response stays shrinks.
//
// A generation keeps its keys and responses in an arena of byte chunks, indexed by a
// map of key hashes to where each entry is. The bytes hold no pointer, so the garbage
// collector has nothing in the cache to scan: as a map of strings to slices it was
// two thirds of the live heap under load, and marking it was most of every
// collection. The generation that retires is emptied and its chunks reused, so a busy
// cache allocates nothing.
type responseCache struct {
	mu         sync.Mutex
	size       int // entries per generation
	arenaBytes int // bytes per generation
	young, old generation
	started    time.Time
	now        func() time.Time
	seed       maphash.Seed
}

// chunkBytes is the size of an arena's chunks. The arena grows a chunk at a time
// and never moves what it holds: grown as one slice by append, it copied up to 16
// MB with the cache's lock held, and every reader stopped for 10-56 ms, about a
// second and two seconds into a burst of load (hack/bench/results/2026-12-05i).
const chunkBytes = 256 << 10

type generation struct {
	index map[uint64]span
	// chunks[:cur+1] hold the entries (an entry larger than chunkBytes has a
	// chunk to itself); the chunks after cur are emptied ones, kept for reuse.
	chunks [][]byte
	cur    int
	bytes  int // held by the entries
}

// span locates an entry in its generation's arena: the key, then the response.
type span struct{ chunk, off, keyLen, resLen uint32 }

// store copies key and res into the arena.
func (g *generation) store(key, res []byte) span {
	n := len(key) + len(res)
	for g.cur < len(g.chunks) && cap(g.chunks[g.cur])-len(g.chunks[g.cur]) < n {
		g.cur++
	}
	if g.cur == len(g.chunks) {
		g.chunks = append(g.chunks, make([]byte, 0, max(chunkBytes, n)))
	}
	c := &g.chunks[g.cur]
	s := span{chunk: uint32(g.cur), off: uint32(len(*c)), keyLen: uint32(len(key)), resLen: uint32(len(res))}
	*c = append(append(*c, key...), res...)
	g.bytes += n
	return s
}

// empty forgets every entry and keeps the chunks for the next ones.
func (g *generation) empty() {
	clear(g.index)
	for i := range g.chunks {
		g.chunks[i] = g.chunks[i][:0]
	}
	g.cur, g.bytes = 0, 0
}

func newResponseCache(size int) *responseCache {
	// The maps and arenas grow with use: a registrar that sees few credentialed
	// REGISTERs should not hold room for thousands.
	c := &responseCache{size: size, arenaBytes: size * bytesPerEntry, now: time.Now, seed: maphash.MakeSeed()}
	c.young.index = map[uint64]span{}
	c.old.index = map[uint64]span{}
	c.started = c.now()
	return c
}

// get appends the response cached for key to dst.
func (c *responseCache) get(key, dst []byte) ([]byte, bool) {
	h := maphash.Bytes(c.seed, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if res, ok := c.young.lookup(h, key); ok {
		return append(dst, res...), true
	}
	if res, ok := c.old.lookup(h, key); ok {
		return append(dst, res...), true
	}
	return dst, false
}

// put keeps a copy of res for key.
func (c *responseCache) put(key, res []byte) {
	n := len(key) + len(res)
	if n > c.arenaBytes {
		return // larger than a whole generation: not worth evicting it for
	}
	h := maphash.Bytes(c.seed, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.young.index) >= c.size || c.young.bytes+n > c.arenaBytes || c.now().Sub(c.started) >= cacheWindow {
		c.young, c.old = c.old, c.young
		c.young.empty()
		c.started = c.now()
	}
	// A hash collision (one in 2^64) replaces the other entry, which only costs
	// that request a fresh answer.
	c.young.index[h] = c.young.store(key, res)
}

// lookup is the response for key in g, a view of the arena valid until the lock is
// released.
func (g *generation) lookup(h uint64, key []byte) ([]byte, bool) {
	s, ok := g.index[h]
	if !ok {
		return nil, false
	}
	entry := g.chunks[s.chunk][s.off : s.off+s.keyLen+s.resLen]
	if !bytes.Equal(entry[:s.keyLen], key) {
		return nil, false
	}
	return entry[s.keyLen:], true
}
