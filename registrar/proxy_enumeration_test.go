package registrar_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// With --require-caller-auth, a caller posing as a user of a served domain that is
// no extension is challenged as an extension's caller is, its answer is refused as
// a wrong password is, and counted alike by the guessing guard: the answers do not
// tell which extensions exist, and no one calls as a made-up user of the domain.
func TestCallerPosingAsAnUnknownExtensionLooksLikeAWrongPassword(t *testing.T) {
	tn := newTenant(t, "1007")
	r := startExtraReplica(t, "replica-auth-enum", "127.0.0.62", tn, func(c *registrar.Config) {
		c.RequireCallerAuth = true
		c.BySource = throttle.Config{MaxFailures: 3, Window: time.Minute, BlockFor: time.Minute}
	})
	udp, _ := r.Addresses()
	madeUp := *tn
	madeUp.user = "1999"
	const prober, guesser = "127.0.0.63", "127.0.0.64"

	known := inviteFrom(t, prober, udp, "sip:"+tn.aor(), tn.domain, "")
	unknown := inviteFrom(t, prober, udp, "sip:"+madeUp.aor(), tn.domain, "")
	if known.StatusCode != sip.StatusProxyAuthRequired {
		t.Fatalf("a caller posing as the extension got %d %s, want 407", known.StatusCode, known.Reason)
	}
	if got, want := shape(unknown), shape(known); got != want {
		t.Errorf("a caller posing as no extension got\n%s\nwhere one posing as the extension got\n%s", got, want)
	}

	wrong := callerAnswer(t, tn, prober, udp, "guess")
	if wrong.StatusCode != sip.StatusForbidden {
		t.Fatalf("a wrong password got %d %s, want 403", wrong.StatusCode, wrong.Reason)
	}
	if got, want := shape(callerAnswer(t, &madeUp, prober, udp, madeUp.password)), shape(wrong); got != want {
		t.Errorf("an answer for no extension got\n%s\nwhere a wrong password got\n%s", got, want)
	}

	for i := range 3 {
		if res := callerAnswer(t, &madeUp, guesser, udp, madeUp.password); res.StatusCode != sip.StatusForbidden {
			t.Fatalf("answer %d for no extension: got %d %s, want 403", i+1, res.StatusCode, res.Reason)
		}
	}
	res := inviteFrom(t, guesser, udp, "sip:"+tn.aor(), tn.domain, "")
	mustBeThrottled(t, res, "an INVITE after 3 answers for no extension")
}

var anyNonce = regexp.MustCompile(`nonce="[^"]+"`)

// shape is what a response shows a prober beside what it echoes of the request:
// status, reason, header names in order, challenges with their nonce left out,
// and the body's length.
func shape(res *sip.Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s\n", res.StatusCode, res.Reason)
	for _, h := range res.Headers() {
		v := ""
		switch strings.ToLower(h.Name()) {
		case "proxy-authenticate", "www-authenticate", "retry-after", "content-length":
			v = anyNonce.ReplaceAllString(h.Value(), `nonce="…"`)
		}
		fmt.Fprintf(&b, "%s: %s\n", h.Name(), v)
	}
	fmt.Fprintf(&b, "body: %d bytes", len(res.Body()))
	return b.String()
}
