package main

import (
	"slices"
	"testing"
)

// --transports="udp, tcp" (a space after the comma, as people write lists) serves
// UDP and TCP: a name with a space left on it was an unknown transport, and the
// registrar stopped at start; so did "UDP". Empty items are dropped.
func TestTransportList(t *testing.T) {
	for in, want := range map[string][]string{
		"udp,tcp":     {"udp", "tcp"},
		"udp, tcp":    {"udp", "tcp"},
		" udp , tcp ": {"udp", "tcp"},
		"UDP,Tcp":     {"udp", "tcp"},
		"udp":         {"udp"},
		"udp,":        {"udp"},
		"":            nil,
	} {
		if got := transportList(in); !slices.Equal(got, want) {
			t.Errorf("--transports=%q reads as %q, want %q", in, got, want)
		}
	}
}
