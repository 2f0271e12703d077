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
	// Q is the Contact's q (RFC 3261 §20.10), or none; it sits in the padding
	// after RegID, so a binding costs no more memory for it.
	Q Q
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
// CSeq, Call-ID and ExpiresAt alone are a refresh. Q is compared: onChange feeds
// the Extension status, which publishes it, and other replicas fork by it.
func (b Binding) Differs(o Binding) bool {
	return b.URI != o.URI || b.Source != o.Source || b.Transport != o.Transport ||
		b.UserAgent != o.UserAgent || b.Expires != o.Expires || b.Q != o.Q ||
		b.Instance != o.Instance || b.RegID != o.RegID || b.Path != o.Path
}

// ContactValue renders the binding for a 200 OK Contact header value at now:
// "<uri>;expires=N", its q when it has one (RFC 3261 §10.3 step 8), and an
// outbound binding's +sip.instance and reg-id, which RFC 5626 clients look for
// to know their binding took.
func (b Binding) ContactValue(now time.Time) string {
	var buf, qbuf [16]byte
	var q []byte
	if b.Q.Given() {
		q = b.Q.append(append(qbuf[:0], ";q="...))
	}
	v := "<" + b.URI + ">;expires=" + string(strconv.AppendInt(buf[:0], int64(b.Remaining(now)), 10)) + string(q)
	if b.Instance != "" {
		v += `;+sip.instance="` + b.Instance + `"`
	}
	if b.RegID > 0 {
		v += ";reg-id=" + string(strconv.AppendInt(buf[:0], int64(b.RegID), 10))
	}
	return v
}

// Q is a Contact's q parameter (RFC 3261 §20.10), its preference among the
// AOR's bindings: 0 when the Contact gave none, else its value in thousandths
// plus one (1 is q=0, 1001 is q=1). The offset keeps q=0, which a device may
// send, apart from none while the zero Binding, and every binding restored from
// a status entry without q, means none; a flag beside it would fit the padding
// too, but would be a second field to keep in step.
type Q uint16

// QOf is the q of thousandths (0 to 1000).
func QOf(thousandths int) Q { return Q(thousandths + 1) }

// Given reports whether the Contact had a q.
func (q Q) Given() bool { return q != 0 }

// Thousandths is q in thousandths (0 to 1000); ok is false when none was given.
func (q Q) Thousandths() (n int, ok bool) { return int(q) - 1, q != 0 }

// String is q as a Contact carries it, without trailing zeros ("0.5", "1",
// "0.001"); "" for none.
func (q Q) String() string {
	if !q.Given() {
		return ""
	}
	var buf [8]byte
	return string(q.append(buf[:0]))
}

// ParseQ reads a qvalue of RFC 3261 §25.1, as a Contact's q or the Extension
// status carries it; ok is false when v is not one:
//
//	qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
func ParseQ(v string) (q Q, ok bool) {
	if v == "" || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	whole, frac := int(v[0]-'0'), v[1:]
	if frac != "" {
		if frac[0] != '.' || len(frac) > 4 {
			return 0, false
		}
		frac = frac[1:]
	}
	n := 0
	for i := range 3 {
		d := 0
		if i < len(frac) {
			if frac[i] < '0' || frac[i] > '9' || (whole == 1 && frac[i] != '0') {
				return 0, false
			}
			d = int(frac[i] - '0')
		}
		n = n*10 + d
	}
	return QOf(whole*1000 + n), true
}

func (q Q) append(dst []byte) []byte {
	n, _ := q.Thousandths()
	if n >= 1000 {
		return append(dst, '1')
	}
	if n <= 0 {
		return append(dst, '0')
	}
	dst = append(dst, '0', '.', byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10))
	for dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
	}
	return dst
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
