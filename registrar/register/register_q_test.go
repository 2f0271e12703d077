// The q parameter of Contacts (RFC 3261 §10.2.1.2, §20.10): kept with each
// binding, listed in the 200 OK (§10.3 step 8), and refused when malformed.

package register

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Two devices' worth of Contacts, each with a q of its own (one spaced, as
// §25.1 allows), and one without: the 200 OK lists each with its q in canonical
// form, and the one without none, through either parser.
func TestRegisterListsEachContactsQ(t *testing.T) {
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			d.parse = p.parse()
			c1, c2, c3 := "<sip:1001@192.0.2.10:5060>", "<sip:1001@192.0.2.11:5060>", "<sip:1001@192.0.2.12:5060>"
			res := d.register(func(m *msg) {
				m.contacts = []string{c1 + ";q=1.000", c2 + " ; q = 0.50", c3}
				m.expires = "600"
			})
			mustStatus(t, res, sip.StatusOK, "")
			want := []string{c1 + ";expires=600;q=1", c2 + ";expires=600;q=0.5", c3 + ";expires=600"}
			got := contactValues(res)
			if len(got) != len(want) {
				t.Fatalf("Contacts %q, want %q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("Contact %d: %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}

// The q values §25.1 allows, and how the 200 OK writes them back.
func TestRegisterEchoesEveryQValue(t *testing.T) {
	for sent, echoed := range map[string]string{
		"0": "0", "0.": "0", "0.0": "0", "0.001": "0.001", "0.010": "0.01", "0.7": "0.7", "0.999": "0.999",
		"1": "1", "1.": "1", "1.0": "1", "1.000": "1",
	} {
		t.Run(sent, func(t *testing.T) {
			e := newEnv(t)
			d := e.device(testUser, testPassword)
			res := d.register(func(m *msg) { m.contacts = []string{d.contact + ";q=" + sent} })
			mustStatus(t, res, sip.StatusOK, "")
			want := d.contact + ";expires=3600;q=" + echoed
			if cs := contactValues(res); len(cs) != 1 || cs[0] != want {
				t.Errorf("Contact %q, want %q", cs, want)
			}
		})
	}
}

// A q outside the grammar is a 400 naming it, and the REGISTER changes nothing:
// the binding keeps its q and expiry, and a Contact beside the bad one is not
// added.
func TestMalformedQIsRefusedAndChangesNothing(t *testing.T) {
	for _, p := range parsers {
		for _, q := range []string{"2", "0.5.1", "abc", "0.1234", "1.5", "1.0001", "-0.5", ".5", "", "1e0", "0.5x"} {
			t.Run(p.name+"/q="+q, func(t *testing.T) {
				e := newEnv(t)
				d := e.device(testUser, testPassword)
				d.parse = p.parse()
				mustStatus(t, d.register(func(m *msg) { m.contacts = []string{d.contact + ";q=0.3"}; m.expires = "600" }), sip.StatusOK, "")
				before := e.bindings(testUser)
				e.advance(10 * time.Second)
				other := "<sip:1001@192.0.2.99:5060>"
				res := d.register(func(m *msg) { m.contacts = []string{other, d.contact + ";q=" + q}; m.expires = "1200" })
				mustStatus(t, res, sip.StatusBadRequest, "Malformed q in Contact")
				after := e.bindings(testUser)
				if len(after) != 1 || after[0] != before[0] {
					t.Errorf("bindings %+v after the 400, want %+v unchanged", after, before)
				}
			})
		}
	}
}

// A refresh without q drops the q the binding had: a binding is what its latest
// REGISTER said.
func TestRefreshWithoutQDropsIt(t *testing.T) {
	e := newEnv(t)
	d := e.device(testUser, testPassword)
	res := d.register(func(m *msg) { m.contacts = []string{d.contact + ";q=0.2"} })
	mustStatus(t, res, sip.StatusOK, "")
	if cs := contactValues(res); len(cs) != 1 || cs[0] != d.contact+";expires=3600;q=0.2" {
		t.Fatalf("Contact %q after registering with q=0.2", cs)
	}
	res = d.register(nil)
	mustStatus(t, res, sip.StatusOK, "")
	if cs := contactValues(res); len(cs) != 1 || cs[0] != d.contact+";expires=3600" {
		t.Errorf("Contact %q after a refresh without q, want it without q", cs)
	}
	if bs := e.bindings(testUser); len(bs) != 1 || bs[0].Q.Given() {
		t.Errorf("bindings %+v, want one without q", bs)
	}
}
