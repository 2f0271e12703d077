package proxy

import (
	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// Path (RFC 3327): a device registered through edge proxies is reached through
// them. The Path its REGISTER carried is a pre-loaded route set: each of its URIs
// becomes a Route header, in order, and the request goes to the first, whatever
// replica sends it (the edge proxy, not us, holds the device's flow then).

// pathHop reaches a target registered with a Path. A Path that no longer parses
// (it was checked when stored) leaves the target out of reach: 503.
func pathHop(u sip.Uri, path string) hop {
	var routes []string
	for _, v := range sipparse.SplitAddressList(path) {
		var r sip.Uri
		if _, err := sip.ParseAddressValue(v, &r, nil); err != nil || r.Host == "" {
			return hop{URI: u, Fail: sip.StatusServiceUnavailable}
		}
		routes = append(routes, r.String())
	}
	if len(routes) == 0 {
		return hop{URI: u, Fail: sip.StatusServiceUnavailable}
	}
	var first sip.Uri
	_ = sip.ParseUri(routes[0], &first) // rendered from a parsed URI just above
	transport := uriTransport(&first)
	return hop{URI: u, Dest: uriHostPort(&first, transport), Transport: transport, Route: routes}
}
