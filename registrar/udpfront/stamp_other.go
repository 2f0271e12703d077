//go:build !linux

package udpfront

import "net"

// stampBytes is room for an arrival stamp: none outside Linux.
const stampBytes = 0

// stampArrivals has no arrival stamps to ask for outside Linux: every datagram's
// age is unknown, and no REGISTER is shed.
func stampArrivals(*net.UDPConn) error { return nil }

func arrivalOf([]byte) int64 { return 0 }
