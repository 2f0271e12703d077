package proxy

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/location"
)

// Status is what the location service knows of an AOR.
type Status int

const (
	// Found: the AOR has live bindings.
	Found Status = iota
	// NoSuchUser: no extension (or no served domain) has this AOR: 404.
	NoSuchUser
	// Disabled: the extension exists with spec.disabled: 480, as if unregistered,
	// so that a caller cannot tell a switched-off extension from an absent device.
	Disabled
	// NotRegistered: the extension exists but no device is registered: 480.
	NotRegistered
)

// Target is one binding a request is forked to.
type Target struct {
	// URI is the Contact the device registered: the new Request-URI.
	URI string
	// Source (host:port) and Transport are where the REGISTER came from.
	Source, Transport string
	// Registrar is the replica that holds the binding; Local is true for this one.
	Registrar string
	Local     bool
	// Outbound marks an outbound flow (RFC 5626) of the device Instance: reached
	// over its flow, never at its Contact (flow.go). FlowRoute is the route to
	// the replica holding it, for another replica's flow or other binding on a
	// connection (connection.go).
	Outbound            bool
	Instance, FlowRoute string
	RegID               int32
	// Path is the route set the device registered through (RFC 3327, path.go).
	Path string
	// Q is the q its Contact was registered with (RFC 3261 §20.10), or none: the
	// order in which a request tries the AOR's targets (fork.go). Another
	// replica's binding has the q its status entry lists.
	Q location.Q
}

// Destination returns where a request for t is sent, and over what transport.
// Over UDP it is the REGISTER's source, whichever replica took it: behind a NAT
// the Contact (a private address) is not reachable, the pinhole the REGISTER opened
// is (RFC 3581 received/rport). Over TCP the device's connection only exists on the
// replica that accepted it: that replica reuses it (the source is the connection's
// remote address); any other relays the request to it when status names its
// route (hopFor, connection.go), and only without one connects to the Contact.
// Over WebSocket there is no other way than the connection (RFC 7118 §5: a
// browser accepts none, and its Contact host is a made-up .invalid name):
// elsewhere the destination is "".
func (t Target) Destination() (hostport, transport string) {
	transport = strings.ToUpper(t.Transport)
	if transport == "" {
		transport = transportUDP
	}
	if t.Source != "" && (transport == transportUDP || t.Local) {
		return t.Source, transport
	}
	if webSocket(transport) {
		return "", transport
	}
	return contactHostPort(t.URI, transport), transport
}

// webSocket reports whether transport is WS or WSS.
func webSocket(transport string) bool {
	return transport == transportWS || transport == transportWSS
}

// contactHostPort is the Contact URI's host:port, with the transport's default port.
func contactHostPort(uri, transport string) string {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil || u.Host == "" {
		return ""
	}
	port := u.Port
	if port == 0 {
		port = sip.DefaultPort(transport)
	}
	return net.JoinHostPort(strings.Trim(u.Host, "[]"), strconv.Itoa(port))
}

// Extensions is the cluster-wide index of Extensions (directory.Extensions): whether
// each is disabled, and the bindings every replica wrote into its status.
type Extensions interface {
	ByAOR(aor string) (*directory.ExtensionEntry, bool)
}

// Targets is the location service over the whole cluster: it finds where a request
// for an AOR goes, from this replica's table (package location) and the bindings the
// other replicas wrote into Extension status.
type Targets struct {
	Directory directory.Directory
	Table     *location.Table
	// Extensions may be nil: then only this replica's bindings are found.
	Extensions Extensions
	// Replica is this replica's name in Extension status.
	Replica string
	// FlowAlive reports whether this replica still holds the connection to
	// source over transport (a flow's); nil counts every flow alive. New sets it.
	FlowAlive func(transport, source string) bool
}

// Find returns the targets of user@domain at now. Per URI this replica's binding
// wins over what status says (status lags, and its ExpiresAt is a lease, not the
// device's expiry); entries status attributes to this replica but that the table
// no longer has are gone.
func (l *Targets) Find(domain, user string, now time.Time) (Status, []Target) {
	aor := user + "@" + domain
	var entry *directory.ExtensionEntry
	if l.Extensions != nil {
		entry, _ = l.Extensions.ByAOR(aor)
	}
	if _, ok := l.Directory.Credential(domain, user); !ok {
		switch {
		case entry != nil && entry.Disabled:
			return Disabled, nil
		case entry != nil:
			// Declared but not (or no longer) published to us: the operator is still
			// at work on it. A caller may try again.
			return NotRegistered, nil
		}
		return NoSuchUser, nil
	}
	if entry != nil && entry.Disabled {
		return Disabled, nil
	}
	var ts, theirs []Target
	for _, b := range l.Table.Lookup(aor, now) {
		ts = append(ts, localTarget(&b, l.Replica))
	}
	if entry != nil {
		for _, b := range entry.Bindings {
			if b.Registrar == l.Replica || !b.ExpiresAt.After(now) || b.URI == "" {
				continue
			}
			q, _ := location.ParseQ(b.Q) // none when absent (or unreadable: the CRD keeps those out)
			theirs = append(theirs, Target{URI: b.URI, Source: b.Source, Transport: b.Transport, Registrar: b.Registrar,
				Outbound: b.Instance != "" && b.RegID > 0, Instance: b.Instance, RegID: b.RegID, FlowRoute: b.FlowRoute,
				Path: b.Path, Q: q})
		}
	}
	ts = l.dropFailedFlows(aor, ts, theirs)
	for _, t := range theirs {
		if !hasURI(ts, t.URI) {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return NotRegistered, nil
	}
	return Found, oneFlowPerInstance(ts)
}

// ByURI returns the binding of aor whose Contact is uri, so that an in-dialog
// request to a device behind a NAT goes where its REGISTER came from.
func (l *Targets) ByURI(aor, uri string, now time.Time) (Target, bool) {
	i := strings.LastIndexByte(aor, '@')
	if i < 0 {
		return Target{}, false
	}
	if st, ts := l.Find(aor[i+1:], aor[:i], now); st == Found {
		for _, t := range ts {
			if location.URIEqual(t.URI, uri) {
				return t, true
			}
		}
	}
	return Target{}, false
}

func hasURI(ts []Target, uri string) bool {
	for _, t := range ts {
		if location.URIEqual(t.URI, uri) {
			return true
		}
	}
	return false
}
