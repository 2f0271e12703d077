package sipparse

import (
	"slices"
	"testing"
)

func TestSplitAddressList(t *testing.T) {
	for in, want := range map[string][]string{
		"<sip:a;lr>, <sip:b;lr>":          {"<sip:a;lr>", "<sip:b;lr>"},
		`"x, y" <sip:a;lr>,<sip:b?h=1,2>`: {`"x, y" <sip:a;lr>`, "<sip:b?h=1,2>"},
		" <sip:a;lr> ,, ":                 {"<sip:a;lr>"},
		"":                                nil,
	} {
		if got := SplitAddressList(in); !slices.Equal(got, want) {
			t.Errorf("SplitAddressList(%q) = %q, want %q", in, got, want)
		}
	}
}
