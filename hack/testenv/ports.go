package testenv

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// FreePorts returns n distinct ports on ip, each free for both UDP and TCP, for
// servers a test starts in another process.
//
// They come from below (or above) the kernel's ephemeral range. A port the kernel
// hands out for ":0" is free only until some process's connect() takes it as its
// local port, and a test that starts a control plane before its server makes
// hundreds of connections in between: make dev's registrar once lost its port so.
// Outside the range only an explicit bind can take a port, and the tests of every
// package bind through here: each port is locked, for the life of the test
// process, in a lock file that test processes running in parallel share.
func FreePorts(ip string, n int) ([]int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	var held []io.Closer
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	ranges := outsideEphemeral()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 100*n {
			return nil, fmt.Errorf("found only %d of %d free ports on %s in %v", len(ports), n, ip, ranges)
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(ranges.pick())))
		if err != nil {
			continue
		}
		held = append(held, pc)
		port := pc.LocalAddr().(*net.UDPAddr).Port
		if handedOut.ports[port] || !lockPort(port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		held = append(held, l)
		handedOut.ports[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}

// handedOut is what this process has handed out, and the lock files it holds.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
	locks []*os.File
}{ports: map[int]bool{}}

// lockPort takes port's lock file, shared by every test process on the machine,
// and keeps it until this process exits; false if another process holds it. The
// empty files stay: removing one could race with a process locking it.
func lockPort(port int) bool {
	dir := filepath.Join(os.TempDir(), "registrar-operator-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true // no place for locks: the bind checks still apply
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return !errors.Is(err, syscall.EWOULDBLOCK)
	}
	handedOut.locks = append(handedOut.locks, f)
	return true
}

// portRange is an inclusive range of ports.
type portRange struct{ low, high int }

type portRanges []portRange

// minTestPort keeps clear of the well-known and commonly configured ports (5060,
// 8080 and the like) below it.
const minTestPort = 10000

// outsideEphemeral returns the ports outside the kernel's ephemeral range, from
// /proc/sys/net/ipv4/ip_local_port_range (Linux's default when unreadable).
func outsideEphemeral() portRanges {
	low, high := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			l, errL := strconv.Atoi(f[0])
			h, errH := strconv.Atoi(f[1])
			if errL == nil && errH == nil && l <= h {
				low, high = l, h
			}
		}
	}
	var rs portRanges
	if low-1 >= minTestPort {
		rs = append(rs, portRange{minTestPort, low - 1})
	}
	if high+1 <= 65535 {
		rs = append(rs, portRange{max(high+1, minTestPort), 65535})
	}
	return rs
}

// pick returns a random port of the ranges, or 0 (the kernel's choice) when the
// ephemeral range leaves none outside it.
func (rs portRanges) pick() int {
	total := 0
	for _, r := range rs {
		total += r.high - r.low + 1
	}
	if total == 0 {
		return 0
	}
	i := rand.IntN(total)
	for _, r := range rs {
		if size := r.high - r.low + 1; i >= size {
			i -= size
			continue
		}
		return r.low + i
	}
	return 0
}
