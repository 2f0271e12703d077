package udpfront

import (
	"net"
	"net/netip"
)

// packetIO is one reader's way to the socket: a descriptor of its own on Linux
// (directSocket), else the listener through Go's poller (sharedConn).
type packetIO interface {
	// read waits for the next datagram; net.ErrClosed once the listener is closed.
	read(buf []byte) (int, netip.AddrPort, error)
	write(b []byte, to netip.AddrPort) error
	close()
}

// sharedConn is the listener itself, shared by all readers.
type sharedConn struct{ conn *net.UDPConn }

func (c sharedConn) read(buf []byte) (int, netip.AddrPort, error) {
	return c.conn.ReadFromUDPAddrPort(buf)
}

func (c sharedConn) write(b []byte, to netip.AddrPort) error {
	_, err := c.conn.WriteToUDPAddrPort(b, to)
	return err
}

func (sharedConn) close() {}
