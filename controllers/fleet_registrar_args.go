package controllers

import (
	"strconv"
	"strings"
)

// defaultRegistrarTransports are the registrar's --transports default.
var defaultRegistrarTransports = []string{"udp", "tcp"}

// RegistrarTransports are the SIP transports (udp, tcp) the registrars serve
// beside TLS and WebSocket: their --transports as ExtraArgs give it, read as the
// registrar reads it, else its default udp,tcp. The operator hands over the
// record-route ports of these only: a registrar warns at start of every other.
func RegistrarTransports(f FleetOptions) []string {
	v, ok := registrarFlag(f.ExtraArgs, "transports", false)
	if !ok {
		return defaultRegistrarTransports
	}
	var transports []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.ToLower(strings.TrimSpace(item)); item != "" {
			transports = append(transports, item)
		}
	}
	return transports
}

// registrarFlag returns the value the registrar takes for its flag name from
// args, as Go's flag package reads them: -name=v or --name=v, -name v or --name v
// for a flag that is not boolean (isBool: a bare -name is "true"), the last
// occurrence winning; ok false when args do not set it. Parsing stops at "--". A
// word that is not a flag is skipped: without the registrar's flag types it cannot
// be told from the value of the flag before it.
func registrarFlag(args []string, name string, isBool bool) (value string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		flagName, v, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if flagName != name {
			continue
		}
		switch {
		case hasValue:
			value, ok = v, true
		case isBool:
			value, ok = "true", true
		case i+1 < len(args):
			i++
			value, ok = args[i], true
		}
	}
	return value, ok
}

// SubscriptionsOnPodAddress reports whether the registrars write their pod IP in
// the Record-Route of the subscriptions they route: their --routed-methods in
// ExtraArgs names SUBSCRIBE (or is *), they record-route (no --record-route=false
// there), and no record-route host is set (RecordRouteHost, or their
// --record-route-host in ExtraArgs). Such a subscription breaks at the replica's
// restart, and a phone outside the cluster never reaches it: the registrars warn
// at start, and so does the operator, where a kubectl or Argo CD user looks.
func SubscriptionsOnPodAddress(f FleetOptions) bool {
	if !f.Manage {
		return false
	}
	if v, ok := registrarFlag(f.ExtraArgs, "record-route", true); ok {
		if on, err := strconv.ParseBool(v); err == nil && !on {
			return false
		}
	}
	host := f.RecordRouteHost
	if v, ok := registrarFlag(f.ExtraArgs, "record-route-host", false); ok {
		host = v
	}
	if host != "" {
		return false
	}
	methods, _ := registrarFlag(f.ExtraArgs, "routed-methods", false)
	for m := range strings.SplitSeq(methods, ",") {
		if m = strings.TrimSpace(m); m == "*" || strings.EqualFold(m, "SUBSCRIBE") {
			return true
		}
	}
	return false
}
