//go:build linux

package udpfront

import (
	"fmt"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkServeWhenIdle is the front end's CPU per REGISTER when each finds the
// process idle, as at moderate rates (3,000 registrations/s is one datagram every
// 170 µs): a phone on a loopback socket sends one and waits for the answer, at once
// (back-to-back) or after a pause (paced: what the runtime does while idle between
// datagrams is measured too, as at 3,000/s, and so is the phone's timer). The
// handler is trivial, so what is measured is the cost around it: waking a reader,
// the system calls, and what the runtime does for them (cpu-ns/op counts every
// thread, sysmon's too). The phone's own socket calls are raw, so that its calls do
// not wake sysmon for the front end.
func BenchmarkServeWhenIdle(b *testing.B) {
	h := &counting{}
	_, addr := startFront(b, Config{Handle: h.handle})
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetReadBuffer(1 << 20); err != nil {
		b.Fatal(err)
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	to := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
	to.Port = uint16(addr.Port>>8) | uint16(addr.Port&0xff)<<8 // network order
	port := conn.LocalAddr().(*net.UDPAddr).Port
	reqs := make([][]byte, 256)
	for i := range reqs {
		reqs[i] = []byte(register(port, true, false, fmt.Sprintf("z9hG4bK-idle-%d", i)))
	}
	buf := make([]byte, 4096)
	exchange := func(req []byte) {
		var errno unix.Errno
		werr := rc.Write(func(fd uintptr) bool {
			_, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&req[0])), uintptr(len(req)), 0,
				uintptr(unsafe.Pointer(&to)), unix.SizeofSockaddrInet4)
			return errno != unix.EAGAIN
		})
		if werr != nil || errno != 0 {
			b.Fatalf("send: %v %v", werr, errno)
		}
		n := uintptr(0)
		rerr := rc.Read(func(fd uintptr) bool {
			n, _, errno = unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
			return errno != unix.EAGAIN
		})
		if rerr != nil || errno != 0 || n == 0 {
			b.Fatalf("receive: %v %v", rerr, errno)
		}
	}
	for i := range 100 { // every reader started and parked
		exchange(reqs[i%len(reqs)])
	}
	b.Run("back-to-back", func(b *testing.B) {
		clock := cpuClock{b: b}
		clock.start()
		for i := range b.N {
			exchange(reqs[i%len(reqs)])
		}
		clock.report()
	})
	// The phone's pauses alone, to subtract from paced.
	b.Run("pauses-only", func(b *testing.B) {
		clock := cpuClock{b: b}
		clock.start()
		for range b.N {
			time.Sleep(300 * time.Microsecond)
		}
		clock.report()
	})
	b.Run("paced", func(b *testing.B) {
		clock := cpuClock{b: b}
		clock.start()
		for i := range b.N {
			// Pacing, not synchronisation: the process goes idle as between
			// datagrams at moderate rates.
			time.Sleep(300 * time.Microsecond)
			exchange(reqs[i%len(reqs)])
		}
		clock.report()
	})
}
