package location

import (
	"math"
	"strconv"
)

// Policy is the registration policy applied to one REGISTER. Every field is set by
// whoever builds it: the registrar decodes each domain's policy, the CRD's defaults
// applied, once when the domain is published (directory.NewDomain); this package
// knows no defaults.
type Policy struct {
	MinExpires, DefaultExpires, MaxExpires int32 // seconds; a MaxExpires of 0 sets no ceiling
	MaxContacts                            int   // >= 1 (a lower value counts as 1)
	OnMaxContacts                          MaxContactsAction
}

// MaxContactsAction says what a REGISTER that would exceed MaxContacts does.
type MaxContactsAction uint8

const (
	// ReplaceOldest drops the binding registered longest ago to make room.
	ReplaceOldest MaxContactsAction = iota
	// Reject refuses a REGISTER that adds a binding beyond the limit (ErrTooManyContacts).
	Reject
)

// maxContacts is the limit of one request: the per-extension override when above
// zero, else the policy's, never below 1.
func (p *Policy) maxContacts(override int) int {
	n := override
	if n <= 0 {
		n = p.MaxContacts
	}
	return max(n, 1)
}

// IntervalTooBriefError is the 423 Interval Too Brief answer; MinExpires goes in
// the Min-Expires header.
type IntervalTooBriefError struct {
	MinExpires int32
}

func (e *IntervalTooBriefError) Error() string {
	return "location: interval too brief, min-expires " + strconv.Itoa(int(e.MinExpires))
}

// refusableBelow is the interval, in seconds, from which a request is never
// refused as too brief: RFC 3261 §10.3 step 7 allows 423 only for an interval
// above 0 and under one hour. A MinExpires above it refuses only what is under an
// hour, and an hour or more is granted as asked (never lengthened).
const refusableBelow = 3600

// grant computes the interval §10.3 step 7 grants one contact: its expires
// parameter, else the Expires header, else DefaultExpires; above MaxExpires it is
// lowered to MaxExpires; 0 stays 0 (remove); above 0 and below both MinExpires and
// an hour is 423. DefaultExpires is not a requested interval, so it is never
// refused (only lowered).
func grant(param, header int64, p *Policy) (int32, error) {
	e := param
	if e < 0 {
		e = header
	}
	if e < 0 {
		e = int64(p.DefaultExpires)
	} else if e == 0 {
		return 0, nil
	} else if e < int64(p.MinExpires) && e < refusableBelow {
		return 0, &IntervalTooBriefError{MinExpires: p.MinExpires}
	}
	if p.MaxExpires > 0 && e > int64(p.MaxExpires) {
		e = int64(p.MaxExpires)
	}
	if e > math.MaxInt32 {
		e = math.MaxInt32
	}
	return int32(e), nil
}
