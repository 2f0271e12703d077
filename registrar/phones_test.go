package registrar_test

import (
	"fmt"
	"testing"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// account is the tenant's user as a phone signs in.
func (tn *tenant) account() siptest.Account {
	return siptest.Account{User: tn.user, Domain: tn.domain, Password: tn.password}
}

// udpPhone is the tenant's device on a UDP socket of its own at localIP, sending
// to target.
func udpPhone(t *testing.T, tn *tenant, localIP, target string) *siptest.Phone {
	t.Helper()
	return siptest.NewUDP(t, localIP, target, tn.account())
}

// newDevice registers the tenant's user with replica r from a new UDP port, with
// a TCP listener on the same port when withTCP.
func newDevice(t *testing.T, tn *tenant, r *registrar.Replica, withTCP bool) *siptest.Phone {
	t.Helper()
	udp, _ := r.Addresses()
	var d *siptest.Phone
	if withTCP {
		d = siptest.NewUDPWithTCP(t, "127.0.0.1", udp, tn.account())
	} else {
		d = udpPhone(t, tn, "127.0.0.1", udp)
	}
	d.MustRegister(600)
	return d
}

// newCaller is a caller of another domain that sends requests to replica r over UDP.
func newCaller(t *testing.T, r *registrar.Replica) *siptest.Phone {
	t.Helper()
	udp, _ := r.Addresses()
	return siptest.NewUDP(t, "127.0.0.1", udp, siptest.Account{User: "caller", Domain: "example.org"})
}

const testInstance = "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"

// flowPhone is an RFC 5626 device: it registers over a TCP connection of its own to
// tcpAddr with +sip.instance and reg-id and a Contact nobody can reach (a *.invalid
// host, as browsers and mobile clients send), so a request reaches it only over
// that connection.
func flowPhone(t *testing.T, tn *tenant, tcpAddr string, regID int) *siptest.Phone {
	t.Helper()
	p := siptest.NewTCP(t, tcpAddr, tn.account())
	p.Contact = fmt.Sprintf(`<sip:%s@df7jal23ls0d.invalid;transport=tcp;ob>;+sip.instance="%s";reg-id=%d`, tn.user, testInstance, regID)
	p.Extra = "Supported: outbound, path\r\n"
	return p
}
