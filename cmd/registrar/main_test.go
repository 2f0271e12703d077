package main

import (
	"flag"
	"slices"
	"strings"
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

// A word after the flags stops the registrar at start: Go's flag package would
// leave it and every flag after it unread ("--record-route false" sets the flag and
// stops there), so --transports=udp after it would be ignored without a word.
func TestNoArguments(t *testing.T) {
	fs := flag.NewFlagSet("registrar", flag.ContinueOnError)
	fs.Bool("record-route", true, "")
	transports := fs.String("transports", "udp,tcp", "")
	if err := fs.Parse([]string{"--record-route", "false", "--transports=udp"}); err != nil {
		t.Fatal(err)
	}
	if *transports != "udp,tcp" {
		t.Fatalf("--transports read as %q: the flag package changed, this test's premise with it", *transports)
	}
	err := noArguments(fs.Args())
	if err == nil || !strings.Contains(err.Error(), `"false"`) || !strings.Contains(err.Error(), "--name=false") {
		t.Errorf("noArguments(%q) = %v, want an error naming \"false\" and how to give a boolean", fs.Args(), err)
	}
	if err := noArguments(nil); err != nil {
		t.Errorf("noArguments(none) = %v", err)
	}
}
