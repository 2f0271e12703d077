package testenv

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The ports are distinct, bindable for UDP and TCP, outside the kernel's ephemeral
// range (where no connect() can take one before the server binds), and never
// handed out twice.
func TestFreePortsAreOutsideTheEphemeralRangeAndDistinct(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Skip("no ephemeral range to read:", err)
	}
	f := strings.Fields(string(b))
	low, _ := strconv.Atoi(f[0])
	high, _ := strconv.Atoi(f[1])
	first, err := FreePorts("127.0.0.1", 5)
	if err != nil {
		t.Fatal(err)
	}
	second, err := FreePorts("127.0.0.1", 5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range append(first, second...) {
		if seen[p] {
			t.Errorf("port %d handed out twice: %v then %v", p, first, second)
		}
		seen[p] = true
		if p >= low && p <= high {
			t.Errorf("port %d is inside the ephemeral range %d–%d", p, low, high)
		}
		addr := "127.0.0.1:" + strconv.Itoa(p)
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Errorf("port %d is not free for UDP: %v", p, err)
			continue
		}
		_ = pc.Close()
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %d is not free for TCP: %v", p, err)
			continue
		}
		_ = l.Close()
	}
}

// Another test process, as go test runs packages in parallel, cannot take a port
// this one has handed out.
func TestAnotherProcessCannotTakeAHandedOutPort(t *testing.T) {
	if port := os.Getenv("TESTENV_TRY_PORT"); port != "" {
		p, _ := strconv.Atoi(port)
		if lockPort(p) {
			t.Fatalf("took port %d that another process holds", p)
		}
		return
	}
	ports, err := FreePorts("127.0.0.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestAnotherProcessCannotTakeAHandedOutPort$")
	child.Env = append(os.Environ(), "TESTENV_TRY_PORT="+strconv.Itoa(ports[0]))
	if out, err := child.CombinedOutput(); err != nil {
		t.Fatalf("the other process: %v\n%s", err, out)
	}
}
