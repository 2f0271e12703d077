package status

import (
	"fmt"
	"testing"
	"time"
)

// Devices that registered together renew their leases spread over a quarter of the
// lease, not all in the same minute.
func TestLeaseSpreadIsEvenAndBounded(t *testing.T) {
	const lease = 15 * time.Minute
	var buckets [4]int
	for i := range 10000 {
		s := leaseSpread(fmt.Sprintf("%d@c%d.registrar.voipbin.net", 1000+i%100, i/100), lease)
		if s < 0 || s >= lease/4 {
			t.Fatalf("spread %s outside [0, %s)", s, lease/4)
		}
		buckets[s*4/(lease/4)]++
	}
	for i, n := range buckets {
		if n < 2000 || n > 3000 {
			t.Errorf("spread quarter %d holds %d of 10,000 AORs: not even", i, n)
		}
	}
	if a, b := leaseSpread("1001@x", lease), leaseSpread("1001@x", lease); a != b {
		t.Errorf("spread of one AOR moved: %s then %s", a, b)
	}
}

// A lease too short to spread keeps its full length: renewing it would otherwise
// come within leaseMargin of every refresh.
func TestShortLeaseIsNotSpread(t *testing.T) {
	for _, lease := range []time.Duration{0, time.Second, 2 * leaseMargin} {
		if s := leaseSpread("1001@x", lease); s != 0 {
			t.Errorf("lease %s spread by %s", lease, s)
		}
	}
}
