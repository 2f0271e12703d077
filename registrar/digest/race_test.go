//go:build race

package digest

// raceEnabled skips allocation counts: the race detector makes sync.Pool drop
// items at random, and instruments allocations.
const raceEnabled = true
