package main

import (
	"strings"
	"testing"

	"github.com/voipbin/registrar-operator/controllers"
)

// Registrars that route SUBSCRIBE without a record-route host get a warning at the
// operator's start naming the flag and chart value that fix it; with one, none.
func TestCheckRoutedSubscriptions(t *testing.T) {
	f := controllers.DefaultFleetOptions()
	f.ExtraArgs = []string{"--routed-methods=INVITE,MESSAGE,OPTIONS,SUBSCRIBE"}
	err := checkRoutedSubscriptions(f)
	for _, m := range []string{"route SUBSCRIBE", "pod IP", "set --registrar-record-route-host", "registrar.recordRouteHost"} {
		if err == nil || !strings.Contains(err.Error(), m) {
			t.Errorf("%v, want a warning with %q", err, m)
		}
	}
	f.RecordRouteHost = "sip.example.com"
	if err := checkRoutedSubscriptions(f); err != nil {
		t.Errorf("with a record-route host: warned %v", err)
	}
}
