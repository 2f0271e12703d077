package throttle

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"time"

	"github.com/voipbin/registrar-operator/registrar/internal/hashfifo"
)

// Defaults for the registrar's flags; the package doc gives the reasoning.
const (
	DefaultMaxFailures = 10
	DefaultWindow      = 20 * time.Second
	DefaultBlockFor    = 60 * time.Second
	DefaultCapacity    = 1 << 16
)

const (
	// maxShards is enough that two cores rarely meet on one lock.
	maxShards = 64
	// sweepPerInsert bounds the dead entries one Failure removes, spreading the
	// clean-up after a quiet spell over the following calls.
	sweepPerInsert = 16
	// evictProbes is how many of the oldest entries a full shard looks at for one that
	// is not blocked before giving up and dropping the oldest.
	evictProbes = 4
)

// Config configures a Limiter.
type Config struct {
	// MaxFailures failures within Window block the key; zero or less disables the Limiter.
	MaxFailures int
	// Window is the span failures are counted over, from the first of them
	// (DefaultWindow when not positive).
	Window time.Duration
	// BlockFor is how long a block lasts (DefaultBlockFor when not positive).
	BlockFor time.Duration
	// Capacity bounds how many keys are remembered (DefaultCapacity when not
	// positive): a flood of distinct keys evicts old ones instead of growing memory.
	Capacity int
}

// Defaults of the Limiter keyed by source and AOR together (DefaultPairConfig).
const (
	DefaultPairMaxFailures = 10
	DefaultPairWindow      = 10 * time.Minute
)

// DefaultConfig returns the defaults the registrar's flags start from.
func DefaultConfig() Config {
	return Config{MaxFailures: DefaultMaxFailures, Window: DefaultWindow, BlockFor: DefaultBlockFor, Capacity: DefaultCapacity}
}

// DefaultPairConfig returns the defaults of the Limiter keyed by (source, AOR): it
// blocks for as long as it counts, so that one address gets at most
// DefaultPairMaxFailures guesses at one extension per DefaultPairWindow, however it
// spaces them; the package doc gives the reasoning.
func DefaultPairConfig() Config {
	return Config{MaxFailures: DefaultPairMaxFailures, Window: DefaultPairWindow, BlockFor: DefaultPairWindow, Capacity: DefaultCapacity}
}

// Limiter blocks keys that fail too often: after MaxFailures failures within Window a
// key is blocked for BlockFor, and the block lifts by itself. A success does not
// reset the count, since a guesser may own one valid account to interleave.
// Safe for concurrent use; a nil or disabled Limiter blocks nothing.
//
// Keys are remembered by a 64-bit keyed hash (hash/maphash, random seed), which makes
// every entry the same small size however long the key, and lets Blocked run without
// allocating. An attacker cannot arrange a collision without the seed.
//
// When full, a shard drops dead entries first, then the oldest entries that are not
// blocked, and only then the oldest: a flood of one-failure keys, spoofed sources
// over UDP say, does not free a blocked guesser without costing MaxFailures failures
// per key.
type Limiter struct {
	maxFailures int32
	window      int64 // nanoseconds
	blockFor    int64 // nanoseconds
	seed        maphash.Seed
	seed2       maphash.Seed // for the second part of pairs
	shift       uint         // hash >> shift picks the shard
	shards      []shard
}

type shard struct {
	mu    sync.Mutex
	m     map[uint64]entry
	order hashfifo.Queue
	limit int
	_     [64]byte // keep neighbouring shards' locks off one cache line
}

type entry struct {
	start int64 // Unix nanoseconds of the first failure of the current window
	until int64 // Unix nanoseconds the block ends; 0 when never blocked
	count int32 // failures in the current window
}

// New returns a Limiter for cfg.
func New(cfg Config) *Limiter {
	if cfg.MaxFailures <= 0 {
		return &Limiter{}
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.BlockFor <= 0 {
		cfg.BlockFor = DefaultBlockFor
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	// A power of two of shards, no more than the capacity, so that the per-shard
	// limits add up to at most the capacity.
	nbits := min(bits.Len(uint(cfg.Capacity))-1, bits.Len(maxShards)-1)
	l := &Limiter{
		maxFailures: int32(min(cfg.MaxFailures, 1<<30)),
		window:      int64(cfg.Window),
		blockFor:    int64(cfg.BlockFor),
		seed:        maphash.MakeSeed(),
		seed2:       maphash.MakeSeed(),
		shift:       uint(64 - nbits),
		shards:      make([]shard, 1<<nbits),
	}
	for i := range l.shards {
		l.shards[i].m = make(map[uint64]entry)
		l.shards[i].limit = cfg.Capacity >> nbits
	}
	return l
}

// Blocked reports whether key is blocked at now and, if so, how long until it is not.
func (l *Limiter) Blocked(key string, now time.Time) (blocked bool, retryAfter time.Duration) {
	if l == nil || l.maxFailures == 0 {
		return false, 0
	}
	s := l.standing(maphash.String(l.seed, key), now)
	return s.Blocked, s.RetryAfter
}

// Failure records a failure of key at now and reports whether key is blocked after
// it. Failures while blocked are not counted and do not extend the block, so the
// block lifts on time even if the peer keeps trying.
func (l *Limiter) Failure(key string, now time.Time) (nowBlocked bool) {
	if l == nil || l.maxFailures == 0 {
		return false
	}
	return l.failure(maphash.String(l.seed, key), now, false)
}

// Enabled reports whether the Limiter counts failures at all.
func (l *Limiter) Enabled() bool { return l != nil && l.maxFailures > 0 }

// Standing is what a Limiter knows of one key at one time.
type Standing struct {
	// Failed: the key failed within its current window, or is blocked; and for how
	// much longer.
	Failed    bool
	FailedFor time.Duration
	// Blocked, and for how much longer.
	Blocked    bool
	RetryAfter time.Duration
}

func (l *Limiter) standing(h uint64, now time.Time) Standing {
	sh := &l.shards[h>>l.shift]
	t := now.UnixNano()
	sh.mu.Lock()
	e, ok := sh.m[h]
	sh.mu.Unlock()
	if !ok {
		return Standing{}
	}
	if t < e.until {
		left := time.Duration(e.until - t)
		return Standing{Failed: true, FailedFor: left, Blocked: true, RetryAfter: left}
	}
	if e.count == 0 || t-e.start >= l.window {
		return Standing{}
	}
	return Standing{Failed: true, FailedFor: time.Duration(e.start + l.window - t)}
}

// failure records a failure of the key hashed to h; block blocks it at once.
func (l *Limiter) failure(h uint64, now time.Time, block bool) (nowBlocked bool) {
	sh := &l.shards[h>>l.shift]
	t := now.UnixNano()

	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[h]
	switch {
	case !ok:
		sh.makeRoom(t, l.window)
		sh.order.Push(h, sh.limit)
		e = entry{start: t}
	case t < e.until:
		return true
	case t-e.start >= l.window:
		e.start, e.count = t, 0
	}
	e.count++
	if e.count >= l.maxFailures || block {
		// Counting starts afresh once the block lifts.
		e.until, e.start, e.count = t+l.blockFor, t, 0
	}
	sh.m[h] = e
	return t < e.until
}

// Len returns how many keys are remembered, blocked or counting.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	total := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		total += len(sh.m)
		sh.mu.Unlock()
	}
	return total
}

// dead reports an entry that neither blocks nor counts toward a block.
func (e entry) dead(t, window int64) bool { return t >= e.until && t-e.start >= window }

// makeRoom prepares the shard for one more entry; see Limiter for the order.
// Entries enter in time order, so the old end is where dead ones are.
func (sh *shard) makeRoom(t, window int64) {
	for i := 0; i < sweepPerInsert && sh.order.Len() > 0; i++ {
		h := sh.order.Front()
		if !sh.m[h].dead(t, window) {
			break
		}
		delete(sh.m, sh.order.Pop())
	}
	if sh.order.Len() < sh.limit {
		return
	}
	for i := 0; i < evictProbes && i < sh.order.Len(); i++ {
		h := sh.order.Pop()
		if t >= sh.m[h].until {
			delete(sh.m, h)
			return
		}
		sh.order.Push(h, sh.limit) // blocked: give it another turn
	}
	delete(sh.m, sh.order.Pop())
}
