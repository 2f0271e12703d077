//go:build !linux

package udpfront

import (
	"errors"
	"net"
)

// openDirect has no descriptor of its own to give outside Linux: the readers share
// the listener through Go's poller.
func openDirect(*net.UDPConn, func() func()) (packetIO, error) {
	return nil, errors.New("a descriptor per reader is Linux only")
}
