package udpfront

import (
	"net"
	"net/netip"
	"sync"
)

// packetIO is one reader's way to the socket: a descriptor of its own on Linux
// (directSocket), else the listener through Go's poller (sharedConn).
type packetIO interface {
	// read waits for the next datagram; net.ErrClosed once the listener is closed.
	// It takes the datagram from the socket holding turn, and returns holding it
	// unless it fails: the caller unlocks turn once it handed the datagram on, so
	// that datagrams leave the readers in the order the socket gave them.
	read(buf []byte, turn *sync.Mutex) (int, netip.AddrPort, error)
	write(b []byte, to netip.AddrPort) error
	close()
}

// sharedConn is the listener itself, shared by all readers.
type sharedConn struct{ conn *net.UDPConn }

func (c sharedConn) read(buf []byte, turn *sync.Mutex) (int, netip.AddrPort, error) {
	// The readers queue on the descriptor's read lock anyway: waiting with turn
	// held costs them nothing more.
	turn.Lock()
	n, from, err := c.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		turn.Unlock()
	}
	return n, from, err
}

func (c sharedConn) write(b []byte, to netip.AddrPort) error {
	_, err := c.conn.WriteToUDPAddrPort(b, to)
	return err
}

func (sharedConn) close() {}
