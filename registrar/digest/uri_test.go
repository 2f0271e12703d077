package digest

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// The clients' rows are what each one put on its request line and in the uri
// parameter when challenged, captured from the installed programs (Debian bookworm)
// answering a 401 for REGISTER and a 407 otherwise, and read in their sources:
//
//   - baresip 1.0.0: libre's sip_requestf passes the Request-URI string it writes on
//     the request line to sip_auth_encode (src/sip/request.c, src/sip/auth.c).
//   - linphone-cli 5.1.65: belle-sip's provider sets the Authorization uri to the
//     request's own URI object (belle_sip_provider.c,
//     belle_sip_header_authorization_set_uri(..., belle_sip_request_get_uri(request))).
//   - sipsak 0.9.8.1: insert_auth copies the URI from the request line (src/auth.c).
//   - SIPp 3.6.1: "sip:" and -auth_uri, else "sip:" and the remote address, whatever
//     the Request-URI (src/call.cpp, src/auth.cpp createAuthHeaderMD5).
var clientURIs = []struct {
	client, ruri, uri string
	match             bool
}{
	{"baresip REGISTER", "sip:acme.example;transport=udp", "sip:acme.example;transport=udp", true},
	{"baresip INVITE", "sip:1002@acme.example;transport=udp", "sip:1002@acme.example;transport=udp", true},
	{"linphone REGISTER", "sip:acme.example", "sip:acme.example", true},
	{"linphone INVITE", "sip:1002@acme.example:5099;transport=udp", "sip:1002@acme.example:5099;transport=udp", true},
	{"sipsak REGISTER", "sip:acme.example:5099", "sip:acme.example:5099", true},
	{"sipsak OPTIONS", "sip:1002@acme.example:5099", "sip:1002@acme.example:5099", true},
	{"SIPp -auth_uri REGISTER", "sip:acme.example", "sip:acme.example", true},
	{"SIPp -auth_uri MESSAGE", "sip:1002@acme.example", "sip:acme.example", true},
	// Without -auth_uri SIPp names the address it sends to: refused before as now,
	// which is why the project's SIPp runs pass -auth_uri.
	{"SIPp REGISTER without -auth_uri", "sip:acme.example", "sip:127.0.0.1:5099", false},
	{"SIPp MESSAGE without -auth_uri", "sip:1002@acme.example", "sip:127.0.0.1:5099", false},
}

func TestURIMatchesWhatClientsSend(t *testing.T) {
	for _, tc := range clientURIs {
		t.Run(tc.client, func(t *testing.T) {
			if got := URIMatches(tc.uri, requestURI(t, tc.ruri)); got != tc.match {
				t.Errorf("URIMatches(%q) for Request-URI %q = %v, want %v", tc.uri, tc.ruri, got, tc.match)
			}
		})
	}
}

func TestURIMatchesRule(t *testing.T) {
	for _, tc := range []struct {
		name, ruri, uri string
		match           bool
	}{
		{"host in any case", "sip:acme.example", "SIP:ACME.Example", true},
		{"sip for a sips Request-URI (SIPp over TLS)", "sips:acme.example", "sip:acme.example", true},
		{"sips for a sip Request-URI", "sip:acme.example", "sips:acme.example", true},
		{"parameters and headers not compared", "sip:acme.example;transport=udp", "sip:acme.example;transport=tcp?subject=x", true},
		{"no port named", "sip:acme.example:5070", "sip:acme.example", true},
		{"the default port for none", "sip:acme.example", "sip:acme.example:5060", true},
		{"the sips default port for none", "sips:acme.example", "sip:acme.example:5061", true},
		{"a password is not compared", "sip:1002@acme.example", "sip:1002:secret@acme.example", true},
		{"IPv6 host and port", "sip:[2001:db8::1]:5070", "sip:[2001:DB8::1]:5070", true},

		{"another host", "sip:acme.example", "sip:other.example", false},
		{"an address for the name", "sip:acme.example", "sip:192.0.2.1", false},
		{"another user", "sip:1002@acme.example", "sip:1003@acme.example", false},
		{"a user the Request-URI has not", "sip:acme.example", "sip:1001@acme.example", false},
		{"a user in another case", "sip:alice@acme.example", "sip:Alice@acme.example", false},
		{"another port", "sip:acme.example:5070", "sip:acme.example:5080", false},
		{"a port that is not the default", "sip:acme.example", "sip:acme.example:5070", false},
		{"the sips default port for sip", "sip:acme.example", "sip:acme.example:5061", false},
		{"another IPv6 host", "sip:[2001:db8::1]", "sip:[2001:db8::2]", false},
		{"another scheme", "sip:acme.example", "tel:+15551234", false},
		{"an HTTP path", "sip:acme.example", "/acme.example", false},
		{"no scheme", "sip:acme.example", "acme.example", false},
		{"empty host", "sip:acme.example", "sip:", false},
		{"empty host after a user", "sip:1002@acme.example", "sip:1002@", false},
		{"empty port", "sip:acme.example", "sip:acme.example:", false},
		{"port not a number", "sip:acme.example", "sip:acme.example:5o60", false},
		{"port too long", "sip:acme.example", "sip:acme.example:000005060", false},
		{"unterminated IPv6 reference", "sip:[2001:db8::1]", "sip:[2001:db8::1", false},
		{"garbage after an IPv6 reference", "sip:[2001:db8::1]", "sip:[2001:db8::1]x", false},
		{"empty", "sip:acme.example", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := URIMatches(tc.uri, requestURI(t, tc.ruri)); got != tc.match {
				t.Errorf("URIMatches(%q) for Request-URI %q = %v, want %v", tc.uri, tc.ruri, got, tc.match)
			}
		})
	}
}

// The rule runs on every authenticated request: it must not allocate.
func TestURIMatchesDoesNotAllocate(t *testing.T) {
	ruri := requestURI(t, "sip:1002@acme.example:5099;transport=udp")
	if n := testing.AllocsPerRun(100, func() {
		URIMatches("sip:1002@acme.example:5099;transport=udp", ruri)
	}); n != 0 {
		t.Errorf("URIMatches allocates %v times, want 0", n)
	}
}

func requestURI(t *testing.T, s string) *sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatalf("Request-URI %q: %v", s, err)
	}
	return &u
}
