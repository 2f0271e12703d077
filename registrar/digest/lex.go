package digest

import (
	"errors"
	"strings"
)

var (
	errUnterminated = errors.New("unterminated quoted string")
	errControlChar  = errors.New("control character")
	errEmptyValue   = errors.New("empty value")
	errBadToken     = errors.New("quote inside an unquoted value")
)

// isLWS reports linear whitespace. Folding should be gone by the time a SIP stack
// hands over a header value, but CR and LF are skipped in case it is not.
func isLWS(ch byte) bool { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' }

func skipLWS(s string, i int) int {
	for i < len(s) && isLWS(s[i]) {
		i++
	}
	return i
}

// isCTL reports a control character; HTAB counts as whitespace, not control.
func isCTL(ch byte) bool { return (ch < 0x20 && ch != '\t') || ch == 0x7f }

// tokenChars is the RFC 3261 §25.1 token alphabet, as a lookup table.
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-32] = true
	}
	for _, c := range "-.!%*_+`'~" {
		t[c] = true
	}
	return t
}()

func isTokenChar(ch byte) bool { return tokenChars[ch] }

// quotedStop marks the bytes readQuoted must stop at: the closing quote, a backslash
// and control characters. A table keeps the scan of ordinary bytes to one load.
var quotedStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = c != '\t'
	}
	t[0x7f], t['"'], t['\\'] = true, true, true
	return t
}()

// readQuoted reads the quoted string starting at s[i] == '"' and returns its unescaped
// content and the offset after the closing quote. It slices s unless the content holds
// an escape, so the usual header costs no allocation.
func readQuoted(s string, i int) (string, int, error) {
	start := i + 1
	escaped := false
	for j := start; j < len(s); j++ {
		for j < len(s) && !quotedStop[s[j]] {
			j++
		}
		if j == len(s) {
			break
		}
		switch s[j] {
		case '"':
			if escaped {
				return unescape(s[start:j]), j + 1, nil
			}
			return s[start:j], j + 1, nil
		case '\\':
			j++
			if j == len(s) {
				return "", 0, errUnterminated
			}
			if isCTL(s[j]) { // RFC 3261 quoted-pair excludes CR and LF; no control char is useful
				return "", 0, errControlChar
			}
			escaped = true
		default:
			return "", 0, errControlChar
		}
	}
	return "", 0, errUnterminated
}

// unescape drops the backslash of every quoted-pair; s was validated by readQuoted.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readToken reads an unquoted value. It is laxer than the token grammar (any visible
// byte but '"' and ','), since devices unquote values they should not.
func readToken(s string, i int) (string, int, error) {
	start := i
	for ; i < len(s); i++ {
		ch := s[i]
		if ch == ',' || isLWS(ch) {
			break
		}
		if ch == '"' {
			return "", 0, errBadToken
		}
		if isCTL(ch) {
			return "", 0, errControlChar
		}
	}
	if i == start {
		return "", 0, errEmptyValue
	}
	return s[start:i], i, nil
}

func isUnquotedValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch == ',' || ch == '"' || isLWS(ch) || isCTL(ch) {
			return false
		}
	}
	return true
}

// appendQuoted appends s as a quoted string. Control characters other than HTAB cannot
// be carried by a SIP quoted string (not even escaped), so they are dropped rather
// than let through to split a header.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"' || ch == '\\':
			b = append(b, '\\', ch)
		case isCTL(ch):
		default:
			b = append(b, ch)
		}
	}
	return append(b, '"')
}

func unhex(ch byte) (byte, bool) {
	switch {
	case '0' <= ch && ch <= '9':
		return ch - '0', true
	case 'a' <= ch && ch <= 'f':
		return ch - 'a' + 10, true
	case 'A' <= ch && ch <= 'F':
		return ch - 'A' + 10, true
	}
	return 0, false
}
