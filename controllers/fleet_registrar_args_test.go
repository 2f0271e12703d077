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
