package reliability_test

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// newUDPPhone is a device of user on a UDP socket of its own at ip, sending to
// target: it keeps its Call-ID and counts CSeq like a real phone, and can carry a
// nonce across a registrar restart.
func newUDPPhone(t testing.TB, target, ip, user, domain, password string) *siptest.Phone {
	t.Helper()
	return siptest.NewUDP(t, ip, target, siptest.Account{User: user, Domain: domain, Password: password})
}

func contactCount(res *sip.Response) int {
	n := 0
	for _, h := range res.Headers() {
		if strings.EqualFold(h.Name(), "Contact") {
			n++
		}
	}
	return n
}
