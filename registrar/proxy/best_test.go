package proxy

import "testing"

func TestBest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codes []int
		want  int
	}{
		{"none", nil, -1},
		{"only provisional", []int{180}, -1},
		{"one", []int{486}, 0},
		{"2xx wins over anything", []int{486, 603, 200}, 2},
		{"first 2xx of two", []int{200, 202}, 0},
		{"6xx beats lower classes", []int{302, 486, 603}, 2},
		{"first 6xx", []int{486, 600, 603}, 1},
		{"lowest class", []int{503, 486, 302}, 2},
		{"lowest code in class", []int{486, 480}, 1},
		{"device answer beats our timeout", []int{408, 486}, 1},
		{"device answer beats our 503", []int{503, 500}, 1},
		{"timeout when nothing else in class", []int{408, 503}, 0},
		{"tie keeps the earlier", []int{486, 486}, 0},
		{"device answer beats a failed flow", []int{430, 486}, 1},
		{"a failed flow is as weak as our timeout", []int{430, 408}, 1},
		{"a failed flow when nothing else", []int{503, 430}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Best(tc.codes); got != tc.want {
				t.Errorf("Best(%v) = %d, want %d", tc.codes, got, tc.want)
			}
		})
	}
}

// A caller never gets 503 (that would say we are overloaded) nor 430 (RFC 5626
// §11.5: for an authoritative proxy, never for an endpoint).
func TestUpstream(t *testing.T) {
	for _, tc := range []struct {
		in         int
		want       int
		wantReason string
	}{
		{503, 500, "Server Internal Error"}, {430, 480, "Temporarily Unavailable"},
		{486, 486, "x"}, {500, 500, "x"}, {480, 480, "x"}, {200, 200, "x"},
	} {
		if got, reason := Upstream(tc.in, "x"); got != tc.want || reason != tc.wantReason {
			t.Errorf("Upstream(%d) = %d %q, want %d %q", tc.in, got, reason, tc.want, tc.wantReason)
		}
	}
}
