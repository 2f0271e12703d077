package udpfront

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
)

// TestEverySocketAnswers sends a REGISTER through each way a reader can hold the
// socket (a descriptor of its own on Linux, the shared listener elsewhere) and each
// address family a listener can have. The answer must come back to the phone with
// its address in received, IPv4 peers of a dual-stack listener named as IPv4.
func TestEverySocketAnswers(t *testing.T) {
	v4, v6 := net.IPv4(127, 0, 0, 1), net.IPv6loopback
	for _, mode := range []struct {
		name   string
		shared bool
	}{{"own descriptor", false}, {"shared listener", true}} {
		for _, l := range []struct {
			name          string
			network       string
			listen, phone net.IP
			received      string
		}{
			{"IPv4", "udp4", v4, v4, "127.0.0.1"},
			{"IPv6", "udp6", v6, v6, "::1"},
			{"IPv4 peer of a dual-stack listener", "udp", net.IPv6unspecified, v4, "127.0.0.1"},
		} {
			t.Run(mode.name+"/"+l.name, func(t *testing.T) {
				conn, err := net.ListenUDP(l.network, &net.UDPAddr{IP: l.listen})
				if err != nil {
					t.Skipf("no %s listener here: %v", l.name, err)
				}
				if !mode.shared && runtime.GOOS == "linux" {
					io, err := openDirect(conn, newReaderGate(1).lend)
					if err != nil {
						t.Fatalf("no descriptor of its own for a reader: %v", err)
					}
					io.close()
				}
				h := &counting{}
				_, addr := serveFront(t, conn, Config{Handle: h.handle, SharedSocket: mode.shared})
				if l.listen.IsUnspecified() {
					addr = &net.UDPAddr{IP: l.phone, Port: addr.Port}
				}
				p := newPhoneAt(t, l.phone, addr)
				// rport: the answer goes to the source, whatever the Via says.
				p.Send(register(1, true, true, "z9hG4bK-"+strings.ReplaceAll(t.Name(), "/", "-")))
				res := receive(t, p)
				if !strings.HasPrefix(res, "SIP/2.0 200 OK") {
					t.Fatalf("response:\n%s", res)
				}
				want := fmt.Sprintf("received=%s", l.received)
				if via := header(res, "Via"); !strings.Contains(via, want) || !strings.Contains(via, fmt.Sprintf("rport=%d", p.Port())) {
					t.Errorf("Via %q: want %s and rport=%d", via, want, p.Port())
				}
			})
		}
	}
}
