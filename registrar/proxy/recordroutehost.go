package proxy

import (
	"fmt"
	"net"
	"regexp"
	"strings"
)

// dnsName is a DNS name of RFC 1123 labels.
var dnsName = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// CheckRecordRouteHost reports whether host can name the fleet in our
// Record-Route (Self.RecordRouteHost): an IP address (IPv6 with or without
// brackets) or a DNS name, with no port, scheme or parameter. The ports are those
// we listen on, or Self.RecordRoutePorts: a port here would be written nowhere,
// and a Route naming it would not be taken as ours.
func CheckRecordRouteHost(host string) error {
	if host == "" {
		return nil
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		if ip := net.ParseIP(host[1 : len(host)-1]); ip != nil && ip.To4() == nil {
			return nil
		}
		return fmt.Errorf("%q is not an IPv6 address in brackets", host)
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if len(host) > 253 || !dnsName.MatchString(host) {
		return fmt.Errorf("%q is neither an IP address nor a DNS name (no port, scheme or parameters: "+
			"the ports in Record-Route are the listening ports, or the record-route ports)", host)
	}
	return nil
}
