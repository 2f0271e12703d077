package digest

import (
	"errors"
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"
)

const testRealm = "acme.example"

// answer is a well-formed Digest answer for realm, told apart by its username.
func answer(realm, user string) string {
	c := Credentials{Username: user, Realm: realm, Nonce: "n", URI: "sip:" + realm, Response: "00"}
	return string(c.AppendTo(nil))
}

// requestWith is a MESSAGE carrying the given headers, name and value in turn.
func requestWith(headers ...string) *sip.Request {
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: "1002", Host: testRealm})
	for i := 0; i+1 < len(headers); i += 2 {
		req.AppendHeader(sip.NewHeader(headers[i], headers[i+1]))
	}
	return req
}

func TestCarriesCredentials(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     *sip.Request
		carries bool
	}{
		{"none", requestWith("Subject", "hi"), false},
		{"Authorization", requestWith("Authorization", answer(testRealm, "1001")), true},
		{"Proxy-Authorization", requestWith("Proxy-Authorization", answer(testRealm, "1001")), true},
		{"name in another case", requestWith("proxy-authorization", answer(testRealm, "1001")), true},
		// A malformed or foreign answer is still an answer: the UDP front end keys its
		// retransmission cache on it, and the handler answers it 400 or challenges.
		{"another scheme", requestWith("Authorization", "Basic eDp5"), true},
		{"malformed", requestWith("Authorization", `Digest username="1001`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CarriesCredentials(tc.req); got != tc.carries {
				t.Errorf("CarriesCredentials = %v, want %v", got, tc.carries)
			}
		})
	}
}

func TestCredentialsFor(t *testing.T) {
	const malformed = `Digest username="1001", realm="acme.example"` // no nonce, uri, response
	for _, tc := range []struct {
		name    string
		req     *sip.Request
		user    string // the answer picked, "" for none
		wantErr error
	}{
		{"none", requestWith(), "", ErrNoCredentials},
		{"another scheme only", requestWith("Authorization", "Basic eDp5"), "", ErrNoCredentials},
		{"another realm only", requestWith("Authorization", answer("upstream.example", "x")), "", ErrNoCredentials},
		{"ours in Authorization", requestWith("Authorization", answer(testRealm, "1001")), "1001", nil},
		{"ours in Proxy-Authorization", requestWith("Proxy-Authorization", answer(testRealm, "1001")), "1001", nil},
		{"ours after another realm's and a Basic", requestWith(
			"Authorization", answer("upstream.example", "x"),
			"Authorization", "Basic eDp5",
			"Proxy-Authorization", answer(testRealm, "1001")), "1001", nil},
		{"the first of ours", requestWith(
			"Proxy-Authorization", answer(testRealm, "1001"),
			"Authorization", answer(testRealm, "1003")), "1001", nil},
		{"ours beside a malformed one", requestWith(
			"Authorization", malformed,
			"Proxy-Authorization", answer(testRealm, "1001")), "1001", nil},
		{"malformed only", requestWith("Authorization", malformed), "", ErrMalformedCredentials},
		{"malformed beside another realm's", requestWith(
			"Authorization", answer("upstream.example", "x"),
			"Proxy-Authorization", malformed), "", ErrMalformedCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := CredentialsFor(tc.req, testRealm)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("CredentialsFor error = %v, want %v", err, tc.wantErr)
			}
			if c.Username != tc.user {
				t.Errorf("CredentialsFor picked user %q, want %q", c.Username, tc.user)
			}
		})
	}
}

func TestRemoveCredentialsKeepsOtherRealmsInOrder(t *testing.T) {
	upstream1, upstream2 := answer("upstream.example", "u1"), answer("upstream.example", "u2")
	req := requestWith(
		"Proxy-Authorization", upstream1,
		"Proxy-Authorization", answer(testRealm, "1001"),
		"Proxy-Authorization", upstream2,
		"Authorization", answer(testRealm, "1001"),
		"Authorization", "Basic eDp5",
	)
	RemoveCredentials(req, testRealm)

	var got []string
	for _, h := range req.Headers() {
		if isCredentialsHeader(h.Name()) {
			got = append(got, h.Name()+": "+h.Value())
		}
	}
	want := []string{
		"Proxy-Authorization: " + upstream1,
		"Proxy-Authorization: " + upstream2,
		"Authorization: Basic eDp5",
	}
	if !slices.Equal(got, want) {
		t.Errorf("left\n%q\nwant\n%q", got, want)
	}
}
