//go:build linux

package udpfront

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// skMemInfoVars is how many counters SO_MEMINFO reports (SK_MEMINFO_VARS); the
// first two are the bytes queued for reading and the receive buffer's size.
const skMemInfoVars = 9

// queueCrowded tells whether the socket's receive queue holds more than crowdedShare
// of its buffer. The kernel drops every datagram that finds the buffer full, the
// newest first and whatever it carries, so admission must shed before that point,
// however young the queue's head: at tens of thousands of datagrams a second a
// buffer fills in less than ShedAge.
func queueCrowded(fd int) bool { return queueFill(fd) > crowdedShare }

// queueFill is the share of the socket's receive buffer its queue takes (SO_MEMINFO,
// in the kernel's accounting of each datagram's memory), 0 if unknown.
func queueFill(fd int) float64 {
	var info [skMemInfoVars]uint32
	size := uint32(unsafe.Sizeof(info))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 || size < 8 || info[1] == 0 {
		return 0
	}
	return float64(info[0]) / float64(info[1])
}
