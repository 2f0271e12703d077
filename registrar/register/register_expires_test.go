// REGISTER expiry: Expires precedence and maximum, 423 with Min-Expires, removal, malformed.

package register

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/api/published"
)

// §10.3 step 6: the Contact's expires parameter, else the Expires header, else the
// default; longer than the maximum is shortened, and the 200 shows the granted value.
func TestExpiresPrecedenceAndLoweringToMax(t *testing.T) {
	for _, tc := range []struct {
		name, contactParam, header string
		want                       int
	}{
		{"default when neither", "", "", 3600},
		{"Expires header", "", "600", 600},
		{"contact parameter over header", ";expires=300", "600", 300},
		{"contact parameter alone", ";expires=120", "", 120},
		{"parameter name in capitals", ";Expires=90", "600", 90},
		{"header above max is lowered", "", "100000", 7200},
		{"parameter above max is lowered", ";expires=4294967295", "60", 7200},
		{"minimum is accepted", "", "60", 60},
		{"leading zeros", "", "0600", 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			res := d.register(func(m *msg) {
				m.contacts = []string{d.contact + tc.contactParam}
				m.expires = tc.header
			})
			mustStatus(t, res, sip.StatusOK, "")
			want := fmt.Sprintf("%s;expires=%d", d.contact, tc.want)
			if got := contactValues(res); !slices.Equal(got, []string{want}) {
				t.Errorf("Contact %q, want %q", got, want)
			}
			bs := e.bindings(testUser)
			if len(bs) != 1 || bs[0].Expires != int32(tc.want) || !bs[0].ExpiresAt.Equal(e.now.Add(time.Duration(tc.want)*time.Second)) {
				t.Errorf("binding %+v, want %d s", bs, tc.want)
			}
		})
	}
}

// §10.3 step 6: an interval below the minimum, other than 0, is 423 with Min-Expires.
func TestIntervalBelowMinimumIs423WithMinExpires(t *testing.T) {
	for _, tc := range []struct {
		name, contactParam, header string
		more                       []string // further Contact values
	}{
		{"Expires header", "", "30", nil},
		{"contact parameter", ";expires=1", "3600", nil},
		{"one of two contacts", "", "", []string{"<sip:1001@198.51.100.1>;expires=119"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.republish(func(c *published.DomainConfig) { c.MinExpires = 120 })
			d := e.device(testUser, testPassword)
			res := d.register(func(m *msg) {
				m.contacts = append([]string{d.contact + tc.contactParam}, tc.more...)
				m.expires = tc.header
			})
			mustStatus(t, res, sip.StatusIntervalToBrief, "Interval Too Brief")
			if got := headerValues(res, "Min-Expires"); !slices.Equal(got, []string{"120"}) {
				t.Errorf("Min-Expires %q, want 120", got)
			}
			if n := len(e.bindings(testUser)); n != 0 {
				t.Errorf("%d bindings after a 423 (§10.3 step 8: all or nothing)", n)
			}
		})
	}
}

// Expires: 0 (or expires=0) removes that one contact; the others stay.
func TestExpiresZeroRemovesOneContact(t *testing.T) {
	for _, tc := range []struct{ name, param, header string }{
		{"Expires header", "", "0"},
		{"contact parameter", ";expires=0", "3600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			desk, soft := e.device(testUser, testPassword), e.device(testUser, testPassword)
			soft.contact = "<sip:1001@198.51.100.7:5060>"
			mustStatus(t, desk.register(nil), sip.StatusOK, "")
			mustStatus(t, soft.register(nil), sip.StatusOK, "")
			res := desk.register(func(m *msg) {
				m.contacts = []string{desk.contact + tc.param}
				m.expires = tc.header
			})
			mustStatus(t, res, sip.StatusOK, "")
			if got, want := contactValues(res), []string{soft.contact + ";expires=3600"}; !slices.Equal(got, want) {
				t.Errorf("Contact %q, want %q", got, want)
			}
			if bs := e.bindings(testUser); len(bs) != 1 || bs[0].URI != "sip:1001@198.51.100.7:5060" {
				t.Errorf("bindings %+v", bs)
			}
		})
	}
}

// A malformed Expires header or expires parameter counts as 3600 (RFC 3261
// §20.10, §20.19: "Malformed values SHOULD be treated as equivalent to 3600"), so
// the device is registered rather than refused; one of more digits than 2^32-1
// as the most (lowered to the domain's maximum). Two Expires headers are still a
// 400: which one the device meant is unknown.
func TestMalformedExpiresCountsAs3600(t *testing.T) {
	for _, tc := range []struct {
		name, param, header string
		want                int
	}{
		{"letters", "", "soon", 3600},
		{"negative", "", "-1", 3600},
		{"fraction", "", "1.5", 3600},
		{"sign", "", "+60", 3600},
		{"empty", "", " ", 3600},
		{"above 2^32-1", "", "4294967296", 7200},
		{"eleven digits", "", "99999999999", 7200},
		{"parameter letters", ";expires=abc", "60", 3600},
		{"parameter without value", ";expires", "60", 3600},
		{"parameter quoted", `;expires="60"`, "", 3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			res := d.register(func(m *msg) {
				m.contacts = []string{d.contact + tc.param}
				m.expires = tc.header
			})
			mustStatus(t, res, sip.StatusOK, "")
			if bs := e.bindings(testUser); len(bs) != 1 || bs[0].Expires != int32(tc.want) {
				t.Errorf("bindings %+v, want one of %d s", bs, tc.want)
			}
		})
	}
	t.Run("two Expires headers", func(t *testing.T) {
		e := newEnv(t)
		d := e.device(testUser, testPassword)
		res := d.register(func(m *msg) { m.expires, m.extra = "60", []string{"Expires: 120"} })
		mustStatus(t, res, sip.StatusBadRequest, "Malformed Expires")
		if n := len(e.bindings(testUser)); n != 0 {
			t.Errorf("%d bindings after a 400", n)
		}
	})
}

func TestParseExpires(t *testing.T) {
	for _, tc := range []struct {
		in      string
		present bool
		want    int64
	}{
		{"", false, -1},
		{"0", true, 0},
		{" 3600 ", true, 3600},
		{"4294967295", true, 4294967295},
		{"4294967296", true, 4294967295},
		{"00000000060", true, 60},
		{"", true, 3600},
		{"-0", true, 3600},
		{"1e3", true, 3600},
		{"0x10", true, 3600},
	} {
		if got := parseExpires(tc.in, tc.present); got != tc.want {
			t.Errorf("parseExpires(%q, %v) = %d, want %d", tc.in, tc.present, got, tc.want)
		}
	}
}
