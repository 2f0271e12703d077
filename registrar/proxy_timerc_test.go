package registrar_test

import (
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/registrar"
)

// A device rings and never answers: at Timer C (RFC 3261 §16.8; --timer-c, here
// two seconds) the registrar CANCELs it, and the caller gets 408, not the 487
// the device answers to the CANCEL.
func TestProxyTimerCEndsRingingWith408(t *testing.T) {
	const timerC = 2 * time.Second
	tn := newTenant(t, "1001")
	r := startExtraReplica(t, "replica-timer-c", "127.0.0.8", tn, func(c *registrar.Config) { c.TimerC = timerC })
	id := callID(t)
	rings := tn.phone(t, r, "uas-ring-cancel.xml", id, 0)
	routable(t, r, tn, 1)
	start := time.Now()
	if err := tn.caller(t, r, "uac-invite-408.xml", id, "1001").wait(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < timerC {
		t.Errorf("408 after %v, before Timer C (%v)", took, timerC)
	}
	if err := rings.wait(); err != nil {
		t.Fatal(err)
	}
}
