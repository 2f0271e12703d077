package location

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Binding is one contact of an AOR.
type Binding struct {
	URI, Source, Transport, UserAgent, CallID string
	CSeq                                      uint32
	Expires                                   int32     // granted interval, seconds
	ExpiresAt                                 time.Time // real expiry in this replica
	RegisteredAt                              time.Time // first REGISTER of this URI with this Call-ID
	// Instance and RegID are the Contact's +sip.instance (without its quotes) and
	// reg-id (RFC 5626): with both set the binding is an outbound flow, keyed by
	// them instead of its URI (see outbound.go). RegID 0 is none.
	Instance string
	RegID    int32
	// Path is the REGISTER's Path (RFC 3327) as a header value, "<uri>, <uri>" top
	// entry first: the route requests to the binding take. "" for none.
	Path string
}

// Remaining is the binding's remaining lifetime at now in whole seconds, rounded
// up, never negative: the expires parameter of the 200 OK's Contact.
func (b Binding) Remaining(now time.Time) int32 {
	d := b.ExpiresAt.Sub(now)
	if d <= 0 {
		return 0
	}
	if d >= math.MaxInt32*time.Second {
		return math.MaxInt32
	}
	return int32((d + time.Second - 1) / time.Second)
}

// Live reports whether the binding is still registered at now.
func (b Binding) Live(now time.Time) bool { return b.ExpiresAt.After(now) }

// Differs reports whether going from b to o is a change onChange reports: a
// different URI (as written), Source, Transport, UserAgent or granted Expires.
// CSeq, Call-ID and ExpiresAt alone are a refresh.
func (b Binding) Differs(o Binding) bool {
	return b.URI != o.URI || b.Source != o.Source || b.Transport != o.Transport ||
		b.UserAgent != o.UserAgent || b.Expires != o.Expires ||
		b.Instance != o.Instance || b.RegID != o.RegID || b.Path != o.Path
}

// ContactValue renders the binding for a 200 OK Contact header value at now:
// "<uri>;expires=N", and an outbound binding's +sip.instance and reg-id, which
// RFC 5626 clients look for to know their binding took.
func (b Binding) ContactValue(now time.Time) string {
	var buf [16]byte
	v := "<" + b.URI + ">;expires=" + string(strconv.AppendInt(buf[:0], int64(b.Remaining(now)), 10))
	if b.Instance != "" {
		v += `;+sip.instance="` + b.Instance + `"`
	}
	if b.RegID > 0 {
		v += ";reg-id=" + string(strconv.AppendInt(buf[:0], int64(b.RegID), 10))
	}
	return v
}

// appendLive appends the bindings of bs still live at nowN (Unix nanoseconds).
func appendLive(dst, bs []Binding, nowN int64) []Binding {
	for i := range bs {
		if bs[i].ExpiresAt.UnixNano() > nowN {
			dst = append(dst, bs[i])
		}
	}
	return dst
}

// setString stores a copy of src, so that the table never pins a request's buffer,
// and only when it differs, so that a refresh allocates nothing.
func setString(dst *string, src string) {
	if *dst != src {
		*dst = strings.Clone(src)
	}
}

// internTransport returns the usual transports as constants, others as a copy.
func internTransport(s string) string {
	switch s {
	case "UDP":
		return "UDP"
	case "TCP":
		return "TCP"
	case "TLS":
		return "TLS"
	case "WS":
		return "WS"
	case "WSS":
		return "WSS"
	case "udp":
		return "udp"
	case "tcp":
		return "tcp"
	}
	return strings.Clone(s)
}
