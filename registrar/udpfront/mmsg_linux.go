//go:build linux

package udpfront

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is the kernel's struct mmsghdr: one datagram of a recvmmsg or sendmmsg,
// and the bytes the kernel moved for it. golang.org/x/sys/unix has no wrapper for
// these calls on every architecture; Go lays this struct out as C does (padded
// to Msghdr's alignment).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// Both calls are raw system calls, which do not tell the scheduler: the socket is
// non-blocking, so neither can wait. A scheduled call (unix.Syscall) wakes the
// runtime's sysmon thread whenever it finds every P idle, which at moderate rates
// is at each datagram, and sysmon then polls every 20 µs until the Ps are idle
// again: a thread wake-up per datagram, for a call that cannot block.

// recvmmsg takes up to len(msgs) datagrams off the socket in one system call (the
// socket does not wait: EAGAIN when none is queued).
func recvmmsg(fd int, msgs []mmsghdr) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(msgs))), uintptr(len(msgs)), 0, 0, 0)
	return int(n), errno
}

// sendmmsg sends msgs in one system call; it reports how many went, or the error
// of the first when none did.
func sendmmsg(fd int, msgs []mmsghdr) (int, unix.Errno) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(msgs))), uintptr(len(msgs)), 0, 0, 0)
	return int(n), errno
}
