package redact

import (
	"strings"
	"testing"
)

func TestParseErrorDropsQuotedInput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`field name with no value in header: "Authorization Digest username=\"1001\", response=\"abc\""`, "field name with no value in header"},
		{"transmission beginning 'Authorization: Digest x' is not a SIP message", "transmission beginning"},
		{"line has no CRLF", "line has no CRLF"},
		{"CSeq field should have precisely one whitespace section: '1 REGISTER x'", "CSeq field should have precisely one whitespace section"},
	} {
		got := ParseError(tc.in)
		if got != tc.want || strings.Contains(got, "Digest") {
			t.Errorf("ParseError(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
