package digest

import (
	"errors"
	"strings"
	"testing"
)

const sipHeader = `Digest username="1001", realm="acme.registrar.voipbin.net", ` +
	`nonce="Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWpr", uri="sip:acme.registrar.voipbin.net", ` +
	`response="1a80f22be2c98e64526740e345b22052", algorithm=MD5, cnonce="0a1b2c3d", qop=auth, nc=00000001`

var sipCreds = Credentials{
	Username: "1001", Realm: "acme.registrar.voipbin.net",
	Nonce: "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWpr", URI: "sip:acme.registrar.voipbin.net",
	Response: "1a80f22be2c98e64526740e345b22052", Algorithm: "MD5", CNonce: "0a1b2c3d", QOP: "auth", NC: "00000001",
}

func TestParseCredentials(t *testing.T) {
	minimal := Credentials{Username: "u", Realm: "r", Nonce: "n", URI: "sip:x", Response: "abc"}
	tests := []struct {
		name string
		in   string
		want Credentials
	}{
		{"SIP REGISTER", sipHeader, sipCreds},
		{"minimal, no qop", `Digest username="u",realm="r",nonce="n",uri="sip:x",response="abc"`, minimal},
		{"scheme and names in any case", `dIgEsT USERNAME="u", Realm="r", NONCE="n", Uri="sip:x", RESPONSE="abc"`, minimal},
		{"whitespace everywhere", " \tDigest\t username = \"u\" ,\trealm=\"r\" , nonce =\"n\", uri= \"sip:x\" ,response=\"abc\"  ", minimal},
		{"empty list elements", `Digest , username="u",, realm="r", ,nonce="n", uri="sip:x", response="abc",`, minimal},
		{"unknown parameters, even repeated", `Digest foo=bar, username="u", realm="r", x="1,2", x=3, nonce="n", uri="sip:x", response="abc", y="\"z\""`, minimal},
		{"unquoted values", `Digest username=u, realm=r, nonce=n, uri=sip:x, response=abc`, minimal},
		{
			"escapes and commas inside quotes",
			`Digest username="a\"b\\c\d", realm="r, with comma", nonce="n", uri="sip:x;a=b,c", response="abc"`,
			Credentials{Username: `a"b\cd`, Realm: "r, with comma", Nonce: "n", URI: "sip:x;a=b,c", Response: "abc"},
		},
		{
			"quoted qop and nc, opaque kept",
			`Digest username="u", realm="r", nonce="n", uri="sip:x", response="abc", qop="auth", nc="0000000A", cnonce="c", opaque="o"`,
			Credentials{Username: "u", Realm: "r", Nonce: "n", URI: "sip:x", Response: "abc", QOP: "auth", NC: "0000000A", CNonce: "c", Opaque: "o"},
		},
		{
			"UTF-8 username",
			`Digest username="José", realm="r", nonce="n", uri="sip:x", response="abc"`,
			Credentials{Username: "José", Realm: "r", Nonce: "n", URI: "sip:x", Response: "abc"},
		},
		{
			"empty qop is no qop",
			`Digest username="u", realm="r", nonce="n", uri="sip:x", response="abc", qop=""`,
			minimal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials(tt.in)
			if err != nil {
				t.Fatalf("ParseCredentials: %v", err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseCredentialsRejects(t *testing.T) {
	const rest = `realm="r", nonce="n", uri="sip:x", response="abc"`
	tests := []struct {
		name      string
		in        string
		notDigest bool
	}{
		{"empty", "", true},
		{"blank", "   ", true},
		{"Basic scheme", `Basic dXNlcjpwYXNz`, true},
		{"scheme glued to a parameter", `Digestusername="u", ` + rest, true},
		{"scheme alone", `Digest`, false},
		{"no space after scheme", `Digest,username="u", ` + rest, false},
		{"missing username", `Digest ` + rest, false},
		{"empty username", `Digest username="", ` + rest, false},
		{"missing realm", `Digest username="u", nonce="n", uri="sip:x", response="abc"`, false},
		{"missing nonce", `Digest username="u", realm="r", uri="sip:x", response="abc"`, false},
		{"missing uri", `Digest username="u", realm="r", nonce="n", response="abc"`, false},
		{"missing response", `Digest username="u", realm="r", nonce="n", uri="sip:x"`, false},
		{"duplicate username", `Digest username="u", username="v", ` + rest, false},
		{"duplicate in another case", `Digest username="u", UserName="u", ` + rest, false},
		{"duplicate response", `Digest username="u", ` + rest + `, response="def"`, false},
		{"duplicate nc", `Digest username="u", ` + rest + `, qop=auth, cnonce="c", nc=00000001, nc=00000002`, false},
		{"unterminated quote", `Digest username="u, ` + rest, false},
		{"unterminated at the end", `Digest username="u", ` + rest + `, opaque="abc`, false},
		{"backslash at the end", `Digest username="u", ` + rest + `, opaque="abc\`, false},
		{"escaped CR", "Digest username=\"u\\\r\", " + rest, false},
		{"control character", "Digest username=\"u\x00\", " + rest, false},
		{"newline inside quotes", "Digest username=\"u\nv\", " + rest, false},
		{"no comma between parameters", `Digest username="u" realm="r", nonce="n", uri="sip:x", response="abc"`, false},
		{"no value", `Digest username, ` + rest, false},
		{"no value at the end", `Digest username="u", ` + rest + `, opaque=`, false},
		{"empty unquoted value", `Digest username=, ` + rest, false},
		{"quote inside token", `Digest username=u"v", ` + rest, false},
		{"garbage", `Digest ==="""`, false},
		{"garbage after value", `Digest username="u"x, ` + rest, false},
		{"qop without cnonce", `Digest username="u", ` + rest + `, qop=auth, nc=00000001`, false},
		{"qop without nc", `Digest username="u", ` + rest + `, qop=auth, cnonce="c"`, false},
		{"nc too short", `Digest username="u", ` + rest + `, qop=auth, cnonce="c", nc=0001`, false},
		{"nc too long", `Digest username="u", ` + rest + `, qop=auth, cnonce="c", nc=000000001`, false},
		{"nc not hex", `Digest username="u", ` + rest + `, qop=auth, cnonce="c", nc=0000000g`, false},
		{"nc not hex without qop", `Digest username="u", ` + rest + `, nc=zz`, false},
		{"header too long", `Digest username="u", ` + rest + `, foo="` + strings.Repeat("a", MaxCredentialsLen) + `"`, false},
		{"username too long", `Digest username="` + strings.Repeat("a", MaxParamLen+1) + `", ` + rest, false},
		{"uri too long", `Digest username="u", realm="r", nonce="n", response="abc", uri="sip:` + strings.Repeat("a", MaxURILen) + `"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCredentials(tt.in)
			if err == nil {
				t.Fatalf("ParseCredentials accepted %q as %+v", tt.in, c)
			}
			want := ErrMalformedCredentials
			if tt.notDigest {
				want = ErrNotDigest
			}
			if !errors.Is(err, want) {
				t.Errorf("error %v does not wrap %v", err, want)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error message of %d bytes echoes too much input", len(err.Error()))
			}
		})
	}
}

func TestParseCredentialsLimitsAreInclusive(t *testing.T) {
	uri := "sip:" + strings.Repeat("a", MaxURILen-4)
	user := strings.Repeat("u", MaxParamLen)
	in := `Digest username="` + user + `", realm="r", nonce="n", uri="` + uri + `", response="abc"`
	c, err := ParseCredentials(in)
	if err != nil {
		t.Fatalf("ParseCredentials: %v", err)
	}
	if c.URI != uri || c.Username != user {
		t.Errorf("values at the limits not kept")
	}
}

func TestNonceCount(t *testing.T) {
	tests := []struct {
		c    Credentials
		want uint32
	}{
		{Credentials{QOP: "auth", NC: "00000001"}, 1},
		{Credentials{QOP: "auth", NC: "0000001f"}, 31},
		{Credentials{QOP: "auth", NC: "FFFFFFFF"}, 0xffffffff},
		{Credentials{NC: "00000005"}, 0}, // no qop, no count
		{Credentials{QOP: "auth", NC: "bogus"}, 0},
	}
	for _, tt := range tests {
		if got := tt.c.NonceCount(); got != tt.want {
			t.Errorf("%+v.NonceCount() = %d, want %d", tt.c, got, tt.want)
		}
	}
}

func TestCredentialsAppendToRoundTrips(t *testing.T) {
	for _, c := range []Credentials{
		sipCreds,
		{Username: `a"b\c`, Realm: "r, r", Nonce: "n", URI: "sip:x", Response: "abc", Algorithm: "SHA-256", Opaque: "o"},
		{Username: "u", Realm: "r", Nonce: "n", URI: "sip:x", Response: "abc", Algorithm: "odd alg", QOP: "auth", NC: "00000002", CNonce: "c"},
	} {
		h := string(c.AppendTo(nil))
		got, err := ParseCredentials(h)
		if err != nil {
			t.Fatalf("ParseCredentials(%q): %v", h, err)
		}
		if got != c {
			t.Errorf("round trip of %q:\ngot  %+v\nwant %+v", h, got, c)
		}
	}
}

func TestParseCredentialsDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseCredentials(sipHeader); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseCredentials allocates %v times, want 0", allocs)
	}
}
