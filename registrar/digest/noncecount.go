package digest

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"time"

	"github.com/voipbin/registrar-operator/registrar/internal/hashfifo"
)

// DefaultNonceCountsCapacity holds five minutes of challenges at 3,500 a second in
// about 40 MiB (some 40 bytes an entry).
const DefaultNonceCountsCapacity = 1 << 20

// maxShards is enough that two cores rarely meet on one lock.
const maxShards = 64

// sweepPerInsert bounds the expired entries one Use removes, so the cost of cleaning
// up after a quiet spell is spread over the following calls.
const sweepPerInsert = 16

// NonceCounts refuses nonce-count replay (RFC 7616 §3.4.5): it remembers, per nonce,
// the highest nc accepted. It is safe for concurrent use.
//
// Memory is bounded whatever the traffic. An entry is forgotten once it is older than
// the nonce lifetime plus MaxClockSkew, when NonceSigner.Check refuses its nonce
// anyway. When the table is full the oldest entry is dropped even if live, which
// reopens replay for that one nonce; size the capacity to the challenge rate times
// the lifetime to keep that from happening.
//
// Nonces are keyed by a 64-bit keyed hash (hash/maphash, random seed), which keeps
// entries small and the table from holding on to request buffers. Two nonces
// sharing a hash would only cause a spurious replay verdict, answered with a fresh
// challenge, and the seed keeps an attacker from arranging that.
type NonceCounts struct {
	seed   maphash.Seed
	retain int64 // nanoseconds an entry is kept
	shift  uint  // hash >> shift picks the shard
	shards []countShard
}

type countShard struct {
	mu sync.Mutex
	m  map[uint64]uint32 // the highest nc accepted, by nonce hash
	// order holds the hashes in the order of their first use, and seen the Unix
	// nanoseconds of that use, in step: the oldest entry's age is known without a
	// lookup in m, whose old entries are out of the processor's caches (that lookup
	// was a third of Use's time in a full table).
	order hashfifo.Queue
	seen  hashfifo.Queue
	limit int
	_     [64]byte // keep neighbouring shards' locks off one cache line
}

// NewNonceCounts returns a table holding at most capacity nonces
// (DefaultNonceCountsCapacity when not positive) for lifetime, the NonceSigner's
// (DefaultNonceLifetime when not positive).
func NewNonceCounts(capacity int, lifetime time.Duration) *NonceCounts {
	if capacity <= 0 {
		capacity = DefaultNonceCountsCapacity
	}
	if lifetime <= 0 {
		lifetime = DefaultNonceLifetime
	}
	// A power of two of shards, no more than the capacity, so that the per-shard
	// limits add up to at most the capacity.
	nbits := min(bits.Len(uint(capacity))-1, bits.Len(maxShards)-1)
	shards := 1 << nbits
	n := &NonceCounts{
		seed:   maphash.MakeSeed(),
		retain: int64(lifetime + MaxClockSkew),
		shift:  uint(64 - nbits),
		shards: make([]countShard, shards),
	}
	for i := range n.shards {
		n.shards[i].m = make(map[uint64]uint32)
		n.shards[i].limit = capacity / shards
	}
	return n
}

// Use records a use of nonce with count nc. It returns false for a replay, an nc not
// above the highest already accepted for the nonce, and true otherwise. Without qop
// the count is 0, so a second use of the same nonce is a replay.
func (n *NonceCounts) Use(nonce string, nc uint32, now time.Time) bool {
	h := maphash.String(n.seed, nonce)
	sh := &n.shards[h>>n.shift] // a shift of 64 (one shard) yields 0
	t := now.UnixNano()

	sh.mu.Lock()
	defer sh.mu.Unlock()
	if highest, ok := sh.m[h]; ok {
		if nc <= highest {
			return false
		}
		sh.m[h] = nc
		return true
	}
	sh.makeRoom(t, n.retain)
	sh.m[h] = nc
	sh.order.Push(h, sh.limit)
	sh.seen.Push(uint64(t), sh.limit)
	return true
}

// Len returns how many nonces are remembered.
func (n *NonceCounts) Len() int {
	total := 0
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.Lock()
		total += len(sh.m)
		sh.mu.Unlock()
	}
	return total
}

// makeRoom drops expired entries from the old end, then the oldest if still full.
// Entries enter in time order, so the old end is where expired ones are.
func (sh *countShard) makeRoom(t, retain int64) {
	for i := 0; i < sweepPerInsert && sh.order.Len() > 0; i++ {
		if t-int64(sh.seen.Front()) <= retain {
			break
		}
		sh.drop()
	}
	for sh.order.Len() >= sh.limit {
		sh.drop()
	}
}

// drop forgets the oldest entry.
func (sh *countShard) drop() {
	delete(sh.m, sh.order.Pop())
	sh.seen.Pop()
}
