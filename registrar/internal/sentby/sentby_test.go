package sentby

import (
	"net/netip"
	"testing"
)

func TestIsSource(t *testing.T) {
	for _, c := range []struct {
		host, src string
		want      bool
	}{
		{"192.0.2.10", "192.0.2.10", true},
		{"192.0.2.10", "::ffff:192.0.2.10", true},
		{"10.0.0.5", "192.0.2.10", false}, // behind a NAT
		{"phone.example.com", "192.0.2.10", false},
		{"2001:db8::10", "2001:db8::10", true},
		{"[2001:db8::10]", "2001:db8::10", true},
		{"2001:DB8:0::10", "2001:db8::10", true},
		{"2001:db8::11", "2001:db8::10", false},
		{"::ffff:192.0.2.10", "192.0.2.10", true},
		{"", "192.0.2.10", false},
		{"[", "192.0.2.10", false},
	} {
		src := netip.MustParseAddr(c.src)
		if got := IsSource(c.host, src); got != c.want {
			t.Errorf("IsSource(%q, %s) = %v, want %v", c.host, c.src, got, c.want)
		}
		if got := IsSource([]byte(c.host), src); got != c.want {
			t.Errorf("IsSource([]byte(%q), %s) = %v, want %v", c.host, c.src, got, c.want)
		}
	}
	if IsSource("192.0.2.10", netip.Addr{}) {
		t.Error("an unknown source matched")
	}
}

// The check runs for every response the UDP readers send: an IPv4 sent-by, the
// same as the source or not, costs no allocation.
func TestIsSourceDoesNotAllocateForIPv4(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.10")
	host, other := []byte("192.0.2.10"), "10.0.0.5"
	if n := testing.AllocsPerRun(100, func() { IsSource(host, src); IsSource(other, src) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
