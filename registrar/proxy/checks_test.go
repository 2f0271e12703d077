package proxy

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func parse(t *testing.T, raw string) *sip.Request {
	t.Helper()
	msg, err := sip.ParseMessage([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return msg.(*sip.Request)
}

func invite(t *testing.T, extra string) *sip.Request {
	return parse(t, `INVITE sip:1001@acme.example SIP/2.0
`+extra+`Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK-caller
From: <sip:alice@example.org>;tag=a1
To: <sip:1001@acme.example>
Call-ID: c1
CSeq: 1 INVITE
Content-Length: 0

`)
}

func TestNextMaxForwards(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   uint32
		ok     bool
	}{
		{"", DefaultMaxForwards, true},
		{"Max-Forwards: 70\n", 69, true},
		{"Max-Forwards: 1\n", 0, true},
		{"Max-Forwards: 0\n", 0, false},
	} {
		got, ok := NextMaxForwards(invite(t, tc.header))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: got %d %v, want %d %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLoopDetection(t *testing.T) {
	ours := func(host string, port int) bool { return host == "10.0.0.1" && port == 5060 }
	req := invite(t, "")
	hash := LoopHash(req)
	if IsLoop(req, hash, ours) {
		t.Fatal("a request that never passed us is a loop")
	}
	if LoopHash(invite(t, "")) != hash {
		t.Fatal("the loop hash is not stable")
	}
	b := Branch(hash)
	if !strings.HasPrefix(b, sip.RFC3261BranchMagicCookie) || b == Branch(hash) {
		t.Fatalf("branch %q: want the magic cookie and a unique suffix", b)
	}
	for _, tc := range []struct {
		name string
		via  string
		loop bool
	}{
		{"our branch with the same hash", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" + b + "\n", true},
		{"same hash from another host", "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=" + b + "\n", false},
		{"our Via from a spiral (other hash)", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" + Branch("0123456789abcdef") + "\n", false},
		{"a foreign branch", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-other\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsLoop(invite(t, tc.via), hash, ours); got != tc.loop {
				t.Errorf("IsLoop = %v, want %v", got, tc.loop)
			}
		})
	}
	// A changed Request-URI (a spiral) changes the hash.
	spiral := invite(t, "")
	spiral.Recipient.User = "1002"
	if LoopHash(spiral) == hash {
		t.Error("the Request-URI is not part of the loop hash")
	}
}

func TestProxyRequireUnsupported(t *testing.T) {
	if tags := ProxyRequireUnsupported(invite(t, "")); len(tags) != 0 {
		t.Errorf("tags %v without Proxy-Require", tags)
	}
	tags := ProxyRequireUnsupported(invite(t, "Proxy-Require: foo, bar\n"))
	if strings.Join(tags, ",") != "foo,bar" {
		t.Errorf("tags %v", tags)
	}
}

func TestTargetDestination(t *testing.T) {
	for _, tc := range []struct {
		name            string
		t               Target
		dest, transport string
	}{
		{"UDP goes to the source (NAT)", Target{URI: "sip:1001@10.1.1.1:5062", Source: "203.0.113.5:40000", Transport: "udp"}, "203.0.113.5:40000", "UDP"},
		{"UDP of another replica too", Target{URI: "sip:1001@10.1.1.1:5062", Source: "203.0.113.5:40000", Transport: "UDP", Registrar: "b"}, "203.0.113.5:40000", "UDP"},
		{"local TCP reuses the connection", Target{URI: "sip:1001@10.1.1.1:5062", Source: "203.0.113.5:40001", Transport: "TCP", Local: true}, "203.0.113.5:40001", "TCP"},
		{"remote TCP connects to the Contact", Target{URI: "sip:1001@198.51.100.9;transport=tcp", Source: "203.0.113.5:40001", Transport: "TCP"}, "198.51.100.9:5060", "TCP"},
		{"no source: the Contact", Target{URI: "sip:1001@198.51.100.9:5070"}, "198.51.100.9:5070", "UDP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest, transport := tc.t.Destination()
			if dest != tc.dest || transport != tc.transport {
				t.Errorf("got %s %s, want %s %s", dest, transport, tc.dest, tc.transport)
			}
		})
	}
}

func TestSelfOurs(t *testing.T) {
	s := &Self{Host: "10.0.0.1", Hosts: []string{"10.0.0.1", "127.0.0.1"}, UDPPort: 5060, TCPPort: 5060,
		Serves: func(h string) bool { return h == "acme.example" }}
	for _, tc := range []struct {
		host string
		port int
		want bool
	}{
		{"10.0.0.1", 5060, true},
		{"10.0.0.1", 0, true},
		{"127.0.0.1", 5060, true},
		{"10.0.0.1", 5070, false},
		{"10.0.0.2", 5060, false},
		{"acme.example", 0, true},
		{"ACME.example", 5080, true},
		{"other.example", 5060, false},
	} {
		if got := s.Ours(tc.host, tc.port); got != tc.want {
			t.Errorf("Ours(%s, %d) = %v, want %v", tc.host, tc.port, got, tc.want)
		}
	}
}
