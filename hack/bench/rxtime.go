package main

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

// The probe times a response to its arrival at the probe's socket, as the kernel
// stamps it (SO_TIMESTAMPNS), rather than to the moment the probe's goroutine got
// round to reading it: on 2 cores shared with SIPp and the server, that wake-up can
// take milliseconds, which would be the probe's latency, not the server's. Both
// ends are on the wall clock, the one the kernel stamps with.

// stampArrivals asks the kernel to stamp every datagram conn receives.
func stampArrivals(conn *net.UDPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
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
