package main

import (
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The probe times a response to its arrival at the probe's socket, as the kernel
// stamps it (SO_TIMESTAMPNS), rather than to the moment the probe's goroutine got
// round to reading it: on 2 cores shared with SIPp and the server, that wake-up can
// take milliseconds, which would be the probe's latency, not the server's. Its
// request is timed from the kernel's send stamp (SO_TIMESTAMPING), for the same
// reason: the probe's thread can be preempted between reading the clock and the
// write. Both ends are on the wall clock, the one the kernel stamps with.

// stampArrivals asks the kernel to stamp every datagram conn receives.
func stampArrivals(conn *net.UDPConn) error {
	return setSocketOption(conn, unix.SO_TIMESTAMPNS, 1)
}

// setSocketOption sets a SOL_SOCKET option of conn's socket.
func setSocketOption(conn *net.UDPConn, option, value int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, option, value)
	}); err != nil {
		return err
	}
	return serr
}

// readStamped reads one datagram and when it arrived: the kernel's stamp when conn
// asked for them (stampArrivals), else now.
func readStamped(conn net.Conn, buf, oob []byte) (int, time.Time, error) {
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		n, err := conn.Read(buf)
		return n, time.Now(), err
	}
	n, oobn, _, _, err := uc.ReadMsgUDP(buf, oob)
	if err != nil {
		return 0, time.Time{}, err
	}
	if at, ok := arrivalStamp(oob[:oobn]); ok {
		return n, at, nil
	}
	return n, time.Now(), nil
}

func arrivalStamp(oob []byte) (time.Time, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS &&
			len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix()), true
		}
	}
	return time.Time{}, false
}

// stampSends asks the kernel to stamp every datagram conn sends as it leaves for the
// device (software, without the payload): sendStamp reads the stamps back.
func stampSends(conn *net.UDPConn) error {
	return setSocketOption(conn, unix.SO_TIMESTAMPING,
		unix.SOF_TIMESTAMPING_TX_SOFTWARE|unix.SOF_TIMESTAMPING_SOFTWARE|unix.SOF_TIMESTAMPING_OPT_TSONLY)
}

// sendStamp is when the last datagram conn sent left for the device, from the
// socket's error queue, where stampSends has the kernel put it; false when no stamp
// is queued (not asked for, or not yet there). Older stamps queued before it are
// read and dropped.
func sendStamp(conn net.Conn) (time.Time, bool) {
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		return time.Time{}, false
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return time.Time{}, false
	}
	var last time.Time
	var oob [256]byte
	_ = rc.Control(func(fd uintptr) {
		for {
			_, oobn, _, _, err := unix.Recvmsg(int(fd), nil, oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return // EAGAIN: the queue is empty
			}
			if at, ok := sendStampIn(oob[:oobn]); ok {
				last = at
			}
		}
	})
	return last, !last.IsZero()
}

// sendStampIn is the software stamp of an SCM_TIMESTAMPING message in oob.
func sendStampIn(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		// struct scm_timestamping: three timespecs, the software stamp first.
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPING &&
			len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			if ts.Sec != 0 || ts.Nsec != 0 {
				return time.Unix(ts.Unix()), true
			}
		}
	}
	return time.Time{}, false
}
