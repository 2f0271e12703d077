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
	// that datagrams leave the readers in the order the socket gave them. arrived
	// is when the datagram reached the socket (Unix nanoseconds), 0 if unknown.
	read(buf []byte, turn *sync.Mutex) (n int, from netip.AddrPort, arrived int64, err error)
	write(b []byte, to netip.AddrPort) error
	close()
}

// sharedConn is the listener itself, shared by all readers; oob is a reader's own.
type sharedConn struct {
	conn *net.UDPConn
	oob  []byte
}

func newSharedConn(conn *net.UDPConn) *sharedConn {
	return &sharedConn{conn: conn, oob: make([]byte, stampBytes)}
}

func (c *sharedConn) read(buf []byte, turn *sync.Mutex) (int, netip.AddrPort, int64, error) {
	// The readers queue on the descriptor's read lock anyway: waiting with turn
	// held costs them nothing more.
	turn.Lock()
	n, oobn, _, from, err := c.conn.ReadMsgUDPAddrPort(buf, c.oob)
	if err != nil {
		turn.Unlock()
		return 0, netip.AddrPort{}, 0, err
	}
	return n, from, arrivalOf(c.oob[:oobn]), nil
}

func (c *sharedConn) write(b []byte, to netip.AddrPort) error {
	_, err := c.conn.WriteToUDPAddrPort(b, to)
	return err
}

func (*sharedConn) close() {}
