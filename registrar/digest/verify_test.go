package digest

import (
	"strings"
	"testing"

	"github.com/voipbin/registrar-operator/api/published"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// rfc2617 is the example of RFC 2617 §3.5, adapted to GET as its errata has it.
var rfc2617 = Credentials{
	Username: "Mufasa", Realm: "testrealm@host.com",
	Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", URI: "/dir/index.html",
	QOP: "auth", NC: "00000001", CNonce: "0a4f113b",
	Response: "6629fae49393a05397450978507c4ef1", Opaque: "5ccc069c403ebaf9f0171e9517f40e41",
}

// rfc7616 is the SHA-256 example of RFC 7616 §3.9.1.
var rfc7616 = Credentials{
	Username: "Mufasa", Realm: "http-auth@example.org",
	Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", URI: "/dir/index.html",
	Algorithm: "SHA-256", QOP: "auth", NC: "00000001", CNonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
	Response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
	Opaque:   "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
}

// The SIP cases were computed with md5sum and sha256sum, independently of this code.
const (
	sipPassword = "s3cr3t-Pass"
	sipNoQOP    = "3c9844a47c616772ae807ab64f99992d"
	sipSHA256   = "bb1208904109a3d58ad08b233c96a763a20545084a1189a91c05f3b77cd31c04" // nc=00000002
)

func TestVerify(t *testing.T) {
	md5HA1 := func(c Credentials, pw string) string {
		return published.HA1(sipv1.DigestMD5, c.Username, c.Realm, pw)
	}
	sha256HA1 := func(c Credentials, pw string) string {
		return published.HA1(sipv1.DigestSHA256, c.Username, c.Realm, pw)
	}
	with := func(c Credentials, f func(*Credentials)) Credentials { f(&c); return c }

	sipNoQOPCreds := with(sipCreds, func(c *Credentials) { c.QOP, c.NC, c.CNonce, c.Algorithm, c.Response = "", "", "", "", sipNoQOP })
	sipSHA := with(sipCreds, func(c *Credentials) { c.Algorithm, c.NC, c.Response = "sha-256", "00000002", sipSHA256 })

	tests := []struct {
		name   string
		c      Credentials
		method string
		ha1    string
		want   bool
	}{
		{"RFC 2617 §3.5", rfc2617, "GET", md5HA1(rfc2617, "Circle Of Life"), true},
		{"RFC 7616 §3.9.1 SHA-256", rfc7616, "GET", sha256HA1(rfc7616, "Circle of Life"), true},
		{"SIP REGISTER qop=auth", sipCreds, "REGISTER", md5HA1(sipCreds, sipPassword), true},
		{"SIP REGISTER without qop", sipNoQOPCreds, "REGISTER", md5HA1(sipCreds, sipPassword), true},
		{"SIP REGISTER SHA-256, algorithm in lower case", sipSHA, "REGISTER", sha256HA1(sipCreds, sipPassword), true},
		{"upper-case response", with(sipCreds, func(c *Credentials) { c.Response = strings.ToUpper(c.Response) }), "REGISTER", md5HA1(sipCreds, sipPassword), true},
		{"upper-case HA1", sipCreds, "REGISTER", strings.ToUpper(md5HA1(sipCreds, sipPassword)), true},

		{"wrong password", sipCreds, "REGISTER", md5HA1(sipCreds, "guess"), false},
		{"wrong method", sipCreds, "INVITE", md5HA1(sipCreds, sipPassword), false},
		{"wrong uri", with(sipCreds, func(c *Credentials) { c.URI = "sip:other.registrar.voipbin.net" }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"wrong nonce", with(sipCreds, func(c *Credentials) { c.Nonce = "x" + c.Nonce[1:] }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"wrong cnonce", with(sipCreds, func(c *Credentials) { c.CNonce = "0a1b2c3e" }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"wrong nc", with(sipCreds, func(c *Credentials) { c.NC = "00000002" }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"qop dropped", with(sipCreds, func(c *Credentials) { c.QOP = "" }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"qop auth-int", with(sipCreds, func(c *Credentials) { c.QOP = "auth-int" }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"qop without cnonce", with(sipCreds, func(c *Credentials) { c.CNonce = "" }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"qop with bad nc", with(sipCreds, func(c *Credentials) { c.NC = "1" }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"MD5 HA1 for SHA-256 credentials", sipSHA, "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"SHA-256 HA1 for MD5 credentials", sipCreds, "REGISTER", sha256HA1(sipCreds, sipPassword), false},
		{"MD5-sess", with(rfc2617, func(c *Credentials) { c.Algorithm = "MD5-sess" }), "GET", md5HA1(rfc2617, "Circle Of Life"), false},
		{"SHA-256-sess", with(rfc7616, func(c *Credentials) { c.Algorithm = "SHA-256-sess" }), "GET", sha256HA1(rfc7616, "Circle of Life"), false},
		{"SHA-512-256", with(rfc7616, func(c *Credentials) { c.Algorithm = "SHA-512-256" }), "GET", sha256HA1(rfc7616, "Circle of Life"), false},
		{"truncated response", with(sipCreds, func(c *Credentials) { c.Response = c.Response[:31] }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"non-hex response", with(sipCreds, func(c *Credentials) { c.Response = "z" + c.Response[1:] }), "REGISTER", md5HA1(sipCreds, sipPassword), false},
		{"empty HA1", sipCreds, "REGISTER", "", false},
		{"non-hex HA1", sipCreds, "REGISTER", strings.Repeat("g", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.c, tt.method, tt.ha1); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestVerifyParsed runs the whole path a registrar takes, from the header text.
func TestVerifyParsed(t *testing.T) {
	c, err := ParseCredentials(sipHeader)
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(c, "REGISTER", published.HA1(sipv1.DigestMD5, "1001", "acme.registrar.voipbin.net", sipPassword)) {
		t.Error("Verify refused the parsed SIP REGISTER")
	}
}

func TestVerifyLongURI(t *testing.T) {
	// Past the stack buffer: the result must not change, only where the bytes live.
	c := sipCreds
	c.URI = "sip:" + strings.Repeat("a", MaxURILen-4)
	c.QOP, c.NC, c.CNonce = "", "", ""
	ha1 := published.HA1(sipv1.DigestMD5, c.Username, c.Realm, sipPassword)
	c.Response = responseFor(c, "REGISTER", ha1)
	if !Verify(c, "REGISTER", ha1) {
		t.Error("Verify refused a long URI")
	}
}

func TestAlgorithmOf(t *testing.T) {
	tests := []struct {
		in   string
		want sipv1.DigestAlgorithm
		ok   bool
	}{
		{"", sipv1.DigestMD5, true},
		{"MD5", sipv1.DigestMD5, true},
		{"md5", sipv1.DigestMD5, true},
		{"SHA-256", sipv1.DigestSHA256, true},
		{"Sha-256", sipv1.DigestSHA256, true},
		{"MD5-sess", "", false},
		{"SHA-256-sess", "", false},
		{"SHA-512-256", "", false},
		{"SHA256", "", false},
	}
	for _, tt := range tests {
		got, ok := AlgorithmOf(Credentials{Algorithm: tt.in})
		if got != tt.want || ok != tt.ok {
			t.Errorf("AlgorithmOf(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestVerifyDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	ha1 := published.HA1(sipv1.DigestSHA256, "Mufasa", "http-auth@example.org", "Circle of Life")
	allocs := testing.AllocsPerRun(100, func() {
		if !Verify(rfc7616, "GET", ha1) {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Errorf("Verify allocates %v times, want 0", allocs)
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct {
		c    Challenge
		want string
	}{
		{
			Challenge{Realm: "acme.registrar.voipbin.net", Nonce: "abc"},
			`Digest realm="acme.registrar.voipbin.net", nonce="abc", algorithm=MD5, qop="auth"`,
		},
		{
			Challenge{Realm: "acme.registrar.voipbin.net", Nonce: "abc", Algorithm: sipv1.DigestSHA256, Stale: true},
			`Digest realm="acme.registrar.voipbin.net", nonce="abc", algorithm=SHA-256, qop="auth", stale=true`,
		},
		{
			Challenge{Realm: "a\"b\\c\r\nX-Injected: 1", Nonce: "n"},
			`Digest realm="a\"b\\cX-Injected: 1", nonce="n", algorithm=MD5, qop="auth"`,
		},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
		}
		if got := string(tt.c.AppendTo([]byte("x: "))); got != "x: "+tt.want {
			t.Errorf("AppendTo = %s", got)
		}
	}
}

// responseFor computes a response the plain way, as a client would.
func responseFor(c Credentials, method, ha1 string) string {
	alg, _ := AlgorithmOf(c)
	hx := func(s string) string {
		h := published.NewHash(alg)
		h.Write([]byte(s))
		return hexString(h.Sum(nil))
	}
	ha2 := hx(method + ":" + c.URI)
	if c.QOP == "" {
		return hx(ha1 + ":" + c.Nonce + ":" + ha2)
	}
	return hx(ha1 + ":" + c.Nonce + ":" + c.NC + ":" + c.CNonce + ":" + c.QOP + ":" + ha2)
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

// Response computes what the RFCs' examples answer, so the tests' phones answer
// challenges as devices do.
func TestResponse(t *testing.T) {
	for c, ha1 := range map[Credentials]string{
		rfc2617: published.HA1(sipv1.DigestMD5, "Mufasa", rfc2617.Realm, "Circle Of Life"),
		rfc7616: published.HA1(sipv1.DigestSHA256, "Mufasa", rfc7616.Realm, "Circle of Life"),
	} {
		want := c.Response
		c.Response = ""
		if got, err := Response(c, "GET", ha1); err != nil || got != want {
			t.Errorf("Response for %s = %q, %v; want %q", c.Realm, got, err, want)
		}
	}
	c := rfc2617
	c.Algorithm = "MD5-sess"
	if _, err := Response(c, "GET", published.HA1(sipv1.DigestMD5, "Mufasa", c.Realm, "x")); err == nil {
		t.Error("Response answered for MD5-sess, which Verify refuses")
	}
}
