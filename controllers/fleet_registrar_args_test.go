package controllers_test

import (
	"slices"
	"testing"

	"github.com/voipbin/registrar-operator/controllers"
)

// The registrar's --transports is read from ExtraArgs as Go's flag package reads
// it: with one dash or two, its value after = or as the next word, the last one
// winning, none after "--"; names trimmed and in lower case, as the registrar
// reads them. Without it, the registrar's default: UDP and TCP.
func TestRegistrarTransportsReadsExtraArgsAsTheRegistrar(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"udp", "tcp"}},
		{[]string{"--timer-c=4m", "--record-route=false"}, []string{"udp", "tcp"}},
		{[]string{"--transports=udp"}, []string{"udp"}},
		{[]string{"-transports=UDP, tcp"}, []string{"udp", "tcp"}},
		{[]string{"--transports", "tcp"}, []string{"tcp"}},
		{[]string{"-transports", "udp", "--timer-c=4m"}, []string{"udp"}},
		{[]string{"--transports=udp", "--transports=tcp"}, []string{"tcp"}},
		{[]string{"--transports=udp", "--", "--transports=tcp"}, []string{"udp"}},
		{[]string{"--transports-extra=udp"}, []string{"udp", "tcp"}},
		{[]string{"--transports="}, nil},
	} {
		f := controllers.DefaultFleetOptions()
		f.ExtraArgs = tc.args
		if got := controllers.RegistrarTransports(f); !slices.Equal(got, tc.want) {
			t.Errorf("ExtraArgs %q: transports %q, want %q", tc.args, got, tc.want)
		}
	}
}

// The registrars write their pod IP in a subscription's Record-Route when they
// route SUBSCRIBE (named in their --routed-methods, or *) and record-route without
// a record-route host, whether that is the operator's flag or the registrar's own
// in ExtraArgs. Not when the operator does not run the fleet.
func TestSubscriptionsOnPodAddress(t *testing.T) {
	for _, tc := range []struct {
		name string
		host string
		args []string
		want bool
	}{
		{"default methods", "", nil, false},
		{"SUBSCRIBE routed", "", []string{"--routed-methods=INVITE,subscribe"}, true},
		{"every method routed", "", []string{"--routed-methods", "*"}, true},
		{"NOTIFY and REFER routed", "", []string{"--routed-methods=INVITE,NOTIFY,REFER"}, false},
		{"a record-route host", "sip.example.com", []string{"--routed-methods=*"}, false},
		{"the registrar's own record-route host", "", []string{"--routed-methods=*", "--record-route-host=sip.example.com"}, false},
		{"no record-routing", "", []string{"--routed-methods=SUBSCRIBE", "--record-route=false"}, false},
		{"record-routing said twice", "", []string{"--record-route=false", "--routed-methods=SUBSCRIBE", "-record-route"}, true},
	} {
		f := controllers.DefaultFleetOptions()
		f.RecordRouteHost, f.ExtraArgs = tc.host, tc.args
		if got := controllers.SubscriptionsOnPodAddress(f); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		f.Manage = false
		if controllers.SubscriptionsOnPodAddress(f) {
			t.Errorf("%s: true without a fleet the operator runs", tc.name)
		}
	}
}
