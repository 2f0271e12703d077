package udpfront

import (
	"testing"
	"time"
)

func TestAdmission(t *testing.T) {
	const limit = 100 * time.Millisecond
	for _, c := range []struct {
		name         string
		age, limit   time.Duration
		credentialed bool
		want         bool
	}{
		{"fresh challenge", 5 * time.Millisecond, limit, false, true},
		{"challenge at the limit", limit, limit, false, true},
		{"challenge past the limit", limit + time.Millisecond, limit, false, false},
		{"credentials past the limit", 2 * time.Second, limit, true, true},
		{"fresh credentials", 0, limit, true, true},
		{"shedding off", time.Hour, -1, false, true},
		{"a clock that went back", -time.Second, limit, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := admits(c.age, c.limit, c.credentialed); got != c.want {
				t.Errorf("admits(%v, %v, credentials %v) = %v, want %v", c.age, c.limit, c.credentialed, got, c.want)
			}
		})
	}
}
