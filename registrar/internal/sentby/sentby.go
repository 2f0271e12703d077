// Package sentby decides whether a response's top Via needs a received parameter
// (RFC 3261 §18.2.1): when the host of the request's sent-by is a domain name, or
// an IP address other than the packet's source, the server MUST add
// received=<source address> to the top Via of the response.
package sentby

import (
	"net/netip"
	"strings"
)

// IsSource reports whether host, the host of a top Via's sent-by (an IPv6
// literal with or without its brackets), is the address src the request came
// from; false for a domain name. An IPv4 host compares as text with src's
// canonical form, as the UDP readers name it, without allocating; only an IPv6
// host that differs as text is parsed.
func IsSource[T ~string | ~[]byte](host T, src netip.Addr) bool {
	if !src.IsValid() || len(host) == 0 {
		return false
	}
	if host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	src = src.Unmap()
	var text [64]byte
	if string(host) == string(src.AppendTo(text[:0])) {
		return true
	}
	if !strings.Contains(string(host), ":") {
		return false // another IPv4 address, or a name
	}
	a, err := netip.ParseAddr(string(host))
	return err == nil && a.Unmap() == src
}
