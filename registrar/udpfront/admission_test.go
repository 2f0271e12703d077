package udpfront

import (
	"testing"
	"time"
)

// TestAdmissionShedsAStandingWaitNotABurst runs admission through sequences of
// REGISTERs read at given times with given waits: a REGISTER is shed only once the
// waits stood past ShedAge for ShedAge, or at once when it is crowded or stale.
func TestAdmissionShedsAStandingWaitNotABurst(t *testing.T) {
	const limit = 100 * time.Millisecond
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	type read struct {
		at, age time.Duration // read time (from an origin) and wait
		crowded bool
		shed    bool // want
	}
	for _, c := range []struct {
		name  string
		limit time.Duration
		reads []read
	}{
		{"fresh", limit, []read{{at: ms(1000), age: ms(5)}, {at: ms(2000), age: limit}}},
		{"a stall's backlog drains", limit, []read{
			// 250 ms without a read, then the backlog in 10 ms, oldest first.
			{at: ms(1250), age: ms(250)}, {at: ms(1253), age: ms(180)},
			{at: ms(1256), age: ms(110)}, {at: ms(1259), age: ms(40)}, {at: ms(1260), age: ms(1)},
		}},
		{"a standing wait", limit, []read{
			{at: ms(1000), age: ms(150)}, {at: ms(1050), age: ms(160)},
			{at: ms(1099), age: ms(170)}, {at: ms(1100), age: ms(170), shed: true},
			{at: ms(1200), age: ms(140), shed: true},
		}},
		{"a young REGISTER ends the standing", limit, []read{
			{at: ms(1000), age: ms(150)}, {at: ms(1050), age: ms(20)},
			{at: ms(1100), age: ms(150)}, {at: ms(1150), age: ms(150)},
			{at: ms(1200), age: ms(150), shed: true},
		}},
		{"one without a stamp tells nothing", limit, []read{
			{at: ms(1000), age: ms(150)}, {at: ms(1050), age: 0}, {at: ms(1100), age: ms(150), shed: true},
		}},
		{"stale at once", limit, []read{{at: ms(1000), age: 5*limit + 1, shed: true}, {at: ms(1001), age: ms(120)}}},
		{"crowded at once", limit, []read{{at: ms(1000), age: ms(1), crowded: true, shed: true}, {at: ms(1001), age: ms(1)}}},
		{"a clock that went back", limit, []read{{at: ms(1000), age: -time.Second}}},
		{"shedding off", -1, []read{
			{at: ms(1000), age: time.Hour, crowded: true}, {at: ms(3000), age: time.Hour},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ad admission
			for i, r := range c.reads {
				if got := ad.observe(r.age, c.limit, int64(r.at), r.crowded); got != r.shed {
					t.Errorf("read %d (at %v, waited %v, crowded %v): shed %v, want %v", i, r.at, r.age, r.crowded, got, r.shed)
				}
			}
		})
	}
}
