package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// A Domain that has not counted lately recounts soon; one that just did waits out the
// interval, so a bulk load writes its status a few times, not once per Extension.
func TestCountPacerSpacesRecounts(t *testing.T) {
	const interval = 30 * time.Second
	var p countPacer
	key := types.NamespacedName{Namespace: "tenant", Name: "acme"}
	now := time.Unix(1000, 0)
	if d := p.delay(key, now, interval); d != countsDelay {
		t.Fatalf("first recount waits %s, want %s", d, countsDelay)
	}
	p.counted(key, now)
	if d := p.delay(key, now.Add(time.Second), interval); d != interval-time.Second {
		t.Errorf("a recount 1 s after the last waits %s, want %s", d, interval-time.Second)
	}
	if d := p.delay(key, now.Add(interval+time.Minute), interval); d != countsDelay {
		t.Errorf("a recount long after the last waits %s, want %s", d, countsDelay)
	}
	other := types.NamespacedName{Namespace: "tenant", Name: "other"}
	if d := p.delay(other, now.Add(time.Second), interval); d != countsDelay {
		t.Errorf("another Domain waits %s: the pace is per Domain", d)
	}
	p.forget(key)
	if d := p.delay(key, now.Add(time.Second), interval); d != countsDelay {
		t.Errorf("a forgotten Domain waits %s", d)
	}
}
