package proxy

import (
	"testing"

	"github.com/voipbin/registrar-operator/registrar/location"
)

// The search groups targets by q, highest first, a target without q with those
// of q=1.0, and keeps the order of equal ones (RFC 3261 §16.6).
func TestByPreferenceGroupsByDecreasingQ(t *testing.T) {
	mk := func(port int, q location.Q) hop { h := hop{Q: q}; h.URI.Port = port; return h }
	hops := []hop{
		mk(1, location.QOf(500)), mk(2, 0), mk(3, location.QOf(0)), mk(4, location.QOf(1000)),
		mk(5, location.QOf(500)), mk(6, location.QOf(700)),
	}
	want := [][]int{{2, 4}, {6}, {1, 5}, {3}}
	got := byPreference(hops)
	if len(got) != len(want) {
		t.Fatalf("%d groups, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("group %d: %+v, want ports %v", i, got[i], want[i])
		}
		for j, port := range want[i] {
			if got[i][j].URI.Port != port {
				t.Errorf("group %d, hop %d: port %d, want %d", i, j, got[i][j].URI.Port, port)
			}
		}
	}
}
