package reliability_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tcpFlood shapes TestHalfOpenTCPFloodLeavesTheRegistrarServing.
const (
	floodSources   = 30  // 127.0.1.1 .. 127.0.1.30
	floodPerSource = 100 // connections each: 3,000 from many addresses
	floodOneSource = 600 // and this many more from 127.0.0.20 alone
	// The registrar's bounds in this test (production defaults: 4096, 256, 10 s).
	guardMaxConns, guardPerIP = 1000, 100
	guardFirstMessage         = 2 * time.Second
	// floodRSSBudget is the most the flood may add to the registrar's peak memory:
	// 1,000 connections at some 45 KiB each, plus slack for the runtime.
	floodRSSBudget = 120 << 20
	// registrarFDLimit is the registrar's RLIMIT_NOFILE during the test.
	registrarFDLimit = 2048
)

// Thousands of TCP connections that connect and send nothing, or half a REGISTER,
// neither grow the registrar's memory without bound nor keep a device from
// registering over TCP meanwhile. The registrar caps connections per address and in
// total (evicting the oldest silent ones when full), and closes those that have not
// sent a message within the first-message deadline (package netguard).
//
// The registrar runs with 2,048 file descriptors, fewer than the flood's 3,600
// connections. RELIABILITY_TCP_GUARD=off runs the same flood with every bound off:
// the registrar then holds every connection it can, runs out of descriptors, and
// sipgo's accept loop returns on EMFILE, taking SIP over TCP down with it.
func TestHalfOpenTCPFloodLeavesTheRegistrarServing(t *testing.T) {
	bin := buildRegistrar(t)
	tn := newTenant(t, 1, 7000, 5)
	kubeconfig := writeKubeconfig(t, registrarSA, serviceAccountGroups())
	port := freePort(t, "127.0.0.1")
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	guard := []string{
		"--tcp-max-connections", strconv.Itoa(guardMaxConns),
		"--tcp-max-connections-per-ip", strconv.Itoa(guardPerIP),
		"--tcp-first-message-timeout", guardFirstMessage.String(),
	}
	if os.Getenv("RELIABILITY_TCP_GUARD") == "off" {
		guard = []string{"--tcp-max-connections", "0", "--tcp-max-connections-per-ip", "0", "--tcp-first-message-timeout", "0"}
	}
	p := startRegistrarProcess(t, bin, kubeconfig, "replica-t", target, guard...)
	waitServing(t, target, tn.domain, wait)
	// A pod's file-descriptor limit, below the flood's size: without the bounds the
	// registrar runs out of descriptors, and sipgo's accept loop ends on EMFILE.
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(p.cmd.Process.Pid),
		fmt.Sprintf("--nofile=%d:%d", registrarFDLimit, registrarFDLimit)).CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v\n%s", err, out)
	}
	base, err := memoryOf(p.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}

	// The flood: silent connections, and connections that stop half-way through a
	// REGISTER's headers, from many addresses and from one.
	start := time.Now()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	dialFrom := func(ip string, n int) (opened, refused int) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		for i := range n {
			c, err := d.Dial("tcp", target)
			if err != nil {
				refused++ // reset before connect returned: refused at once
				continue
			}
			if i%2 == 1 {
				_, _ = fmt.Fprintf(c, "REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-half-%d\r\nFrom: <sip:", tn.domain, c.LocalAddr(), i)
			}
			conns = append(conns, c)
			opened++
		}
		return opened, refused
	}
	opened, refusedAtDial := 0, 0
	for i := 1; i <= floodSources; i++ {
		o, r := dialFrom(fmt.Sprintf("127.0.1.%d", i), floodPerSource)
		opened, refusedAtDial = opened+o, refusedAtDial+r
	}
	o, r := dialFrom("127.0.0.20", floodOneSource)
	opened, refusedAtDial = opened+o, refusedAtDial+r
	t.Logf("flood: %d connections opened in %s (%d more reset before connect returned)",
		opened, time.Since(start).Round(time.Millisecond), refusedAtDial)

	// While the flood holds its connections, a device registers over TCP: SIPp, five
	// REGISTERs with digest on one connection from 127.0.0.21.
	legitStart := time.Now()
	out, err := sipp(t, time.Minute,
		"-sf", filepath.Join("testdata", "sipp", "register-contacts.xml"),
		"-t", "t1", "-i", "127.0.0.21", "-p", strconv.Itoa(freePort(t, "127.0.0.21")),
		"-m", "5", "-r", "10", "-l", "1", "-timeout", "30s", "-timeout_error", "-recv_timeout", "5s",
		"-au", "7000", "-ap", tn.passwords["7000"], "-auth_uri", tn.domain,
		"-key", "domain", tn.domain, "-key", "user", "7000", "-key", "expires", "600",
		target)
	t.Logf("device over TCP during the flood: %s in %s", sippSummary(out), time.Since(legitStart).Round(time.Millisecond))
	if err != nil {
		t.Errorf("the device could not register over TCP during the flood: %v", err)
	}

	during, err := memoryOf(p.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("registrar memory: RSS %d MiB before the flood, %d MiB while it holds its connections", base.rss>>20, during.rss>>20)

	// Every flood connection is closed by the registrar: at once (over a cap, or
	// evicted) or at the first-message deadline.
	eventually(t, "the registrar closes every flood connection", guardFirstMessage+30*time.Second, func() error {
		open := 0
		for _, c := range conns {
			if !serverClosed(c) {
				open++
			}
		}
		if open > 0 {
			return fmt.Errorf("%d of %d still open", open, len(conns))
		}
		return nil
	})
	t.Logf("all flood connections closed by the registrar %s after the flood began", time.Since(start).Round(time.Millisecond))

	after, err := memoryOf(p.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("registrar memory: peak %d MiB (+%d MiB over the RSS before the flood), RSS %d MiB after",
		after.peak>>20, (after.peak-base.rss)>>20, after.rss>>20)
	if grew := after.peak - base.rss; grew > floodRSSBudget {
		t.Errorf("the flood grew the registrar's peak memory by %d MiB, budget %d MiB", grew>>20, floodRSSBudget>>20)
	}

	// And the device registers again afterwards.
	if _, err := sipp(t, time.Minute,
		"-sf", filepath.Join("testdata", "sipp", "register-contacts.xml"),
		"-t", "t1", "-i", "127.0.0.21", "-p", strconv.Itoa(freePort(t, "127.0.0.21")),
		"-m", "1", "-timeout", "30s", "-timeout_error", "-recv_timeout", "5s",
		"-au", "7000", "-ap", tn.passwords["7000"], "-auth_uri", tn.domain,
		"-key", "domain", tn.domain, "-key", "user", "7000", "-key", "expires", "600",
		target); err != nil {
		t.Errorf("the device could not register over TCP after the flood: %v", err)
	}
}

// serverClosed reports whether the peer has closed c (EOF or reset), without
// waiting more than a moment.
func serverClosed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// memory is a process's resident set now and at its peak, in bytes.
type memory struct{ rss, peak int64 }

func memoryOf(pid int) (memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("while reading the registrar's memory: %w", err)
	}
	var m memory
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = kb << 10
		case "VmHWM:":
			m.peak = kb << 10
		}
	}
	return m, nil
}
