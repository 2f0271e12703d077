package status

import (
	"context"
	"testing"
	"time"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// A device that moves from a dead replica to a live one: status shows it once,
// held by the live replica, which owns the entry from then on; the dead replica's
// other bindings stay as they were (the operator prunes them at their lease).
// When the device then de-registers, its entry leaves status although the dead
// replica's field manager still co-owns it.
func TestBindingTakenOverFromADeadReplica(t *testing.T) {
	c, log := fakeAPIServer(t)
	const (
		moved  = "sip:desk@192.0.2.10"
		stayed = "sip:soft@192.0.2.11"
	)
	now := time.Now()
	dead, deadTable := newTestWriter(c, "replica-dead")
	register(t, deadTable, moved, "call-desk", 1, 3600, now)
	register(t, deadTable, stayed, "call-soft", 1, 3600, now)
	dead.Flush(context.Background())
	// replica-dead is killed here: it writes nothing more.

	live, liveTable := newTestWriter(c, "replica-live")
	register(t, liveTable, moved, "call-desk-2", 1, 3600, now.Add(time.Second))
	live.Flush(context.Background())

	ext := statusOf(t, c)
	if got := holders(ext, moved); len(got) != 1 || got[0] != "replica-live" {
		t.Errorf("status entries of the moved device held by %v, want [replica-live]", got)
	}
	if got := holders(ext, stayed); len(got) != 1 || got[0] != "replica-dead" {
		t.Errorf("status entries of the dead replica's other device held by %v, want [replica-dead]", got)
	}
	if ownsField(t, ext, FieldManager("replica-dead"), moved, "f:registrar") {
		t.Errorf("replica-dead's field manager still owns the moved entry's registrar")
	}
	if !ownsField(t, ext, FieldManager("replica-live"), moved, "f:registrar") {
		t.Errorf("replica-live's field manager does not own the moved entry's registrar")
	}

	register(t, liveTable, moved, "call-desk-2", 2, 0, now.Add(2*time.Second))
	live.Flush(context.Background())

	if n := live.Pending(); n != 0 {
		t.Fatalf("the de-registration is still pending after a flush (its write failed)")
	}
	ext = statusOf(t, c)
	if _, ok := bindingOf(ext, moved); ok {
		t.Errorf("the moved device's entry stayed in status after it de-registered: %+v", ext.Status.Bindings)
	}
	if got := holders(ext, stayed); len(got) != 1 || got[0] != "replica-dead" {
		t.Errorf("after the removal, the dead replica's other device is held by %v, want [replica-dead]", got)
	}
	if _, removals := log.counts(); removals != 1 {
		t.Errorf("JSON patches removing leftovers: %d, want 1", removals)
	}
}

// holders lists the registrars of status's entries for uri.
func holders(ext *sipv1.Extension, uri string) []string {
	var out []string
	for _, b := range ext.Status.Bindings {
		if b.URI == uri {
			out = append(out, b.Registrar)
		}
	}
	return out
}
