package throttle

import (
	"strconv"
	"testing"
	"time"
)

func BenchmarkBlockedAbsent(b *testing.B) {
	l := New(DefaultConfig())
	for i := 0; i < 1000; i++ {
		l.Failure("10.0.0."+strconv.Itoa(i), t0)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if blocked, _ := l.Blocked("192.0.2.1", t0); blocked {
				b.Fatal("blocked")
			}
		}
	})
}

func BenchmarkFailure(b *testing.B) {
	l := New(DefaultConfig())
	keys := make([]string, 1<<17) // twice the default capacity: inserts evict
	for i := range keys {
		keys[i] = "10." + strconv.Itoa(i>>16) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		l.Failure(keys[i&(1<<17-1)], t0.Add(time.Duration(i)*time.Microsecond))
	}
}

// BenchmarkPairStandingAbsent is the lookup every authenticated REGISTER makes in
// the (source, AOR) Limiter, for a pair that never failed.
func BenchmarkPairStandingAbsent(b *testing.B) {
	l := New(DefaultPairConfig())
	for i := 0; i < 1000; i++ {
		l.PairFailure("10.0.0."+strconv.Itoa(i), "1001@example.com", t0)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s := l.PairStanding("192.0.2.1", "1001@example.com", t0); s.Failed {
				b.Fatal("failed")
			}
		}
	})
}
