//go:build linux

package udpfront

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stampBytes is room for the control message of one arrival stamp.
var stampBytes = unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))

// stampArrivals asks the kernel to stamp every datagram with the time it reached
// the socket (SO_TIMESTAMPNS): the readers learn from it how long a datagram
// waited in the receive queue. The option is the socket's, so the readers' dups
// share it.
func stampArrivals(conn *net.UDPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	return serr
}

// arrivalOf is the kernel's arrival stamp in oob (Unix nanoseconds), or 0. It walks
// the control messages in place: this runs for every datagram.
func arrivalOf(oob []byte) int64 {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if h.Len < unix.SizeofCmsghdr || int(h.Len) > len(oob) {
			return 0
		}
		data := oob[unix.CmsgLen(0):h.Len]
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			return ts.Nano()
		}
		next := unix.CmsgSpace(int(h.Len) - unix.CmsgLen(0))
		if next > len(oob) {
			return 0
		}
		oob = oob[next:]
	}
	return 0
}
