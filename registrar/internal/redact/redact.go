// Package redact keeps what a hostile sender wrote out of the registrar's logs.
package redact

import "strings"

// ParseError is the kind of a SIP parse error without the input it quotes: sipgo's
// parser errors quote the offending line, which may be an Authorization header
// (field name with no value in header: "Authorization Digest username=…").
func ParseError(msg string) string {
	if i := strings.IndexAny(msg, ":'\""); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}
