package udpfront

import (
	"net"
	"net/netip"
	"sync"
)

// packetIO is one reader's way to the socket: a descriptor of its own on Linux
// (directSocket), else the listener through Go's poller (sharedConn).
type packetIO interface {
	// readBatches waits for datagrams and takes as many as are queued, up to the
	// batch's room, into b, and calls serve with each batch, until serve returns
	// false (then nil) or reading fails (net.ErrClosed once the listener is
	// closed). It takes them from the socket holding turn, and serve is called
	// holding it: serve unlocks turn once it handed the batch's datagrams for
	// sipgo on, so that datagrams leave the readers in the order the socket gave
	// them, or returns false still holding it (readOne).
	readBatches(b *batch, turn *sync.Mutex, serve func(*batch) bool) error
	// write sends b to to, or queues a copy of it until flush.
	write(b []byte, to netip.AddrPort) error
	// flush sends what write queued; a reader flushes before it reads again.
	flush() error
	close()
}

// received is one datagram of a batch.
type received struct {
	data    []byte         // in the batch's buffer for this slot
	from    netip.AddrPort // IPv4 peers of a dual-stack socket unmapped
	arrived int64          // when it reached the socket (Unix nanoseconds), 0 if unknown
	// truncated: longer than the slot; data is its start only.
	truncated bool
}

// batch is a reader's room for the datagrams one read takes off the socket.
type batch struct {
	bufs [][]byte // one slot per datagram
	oobs [][]byte // room for each datagram's arrival stamp
	got  []received
	// crowded: the read left the socket's buffer more than crowdedShare full.
	crowded bool
}

// newBatch makes room for slots datagrams of up to size bytes each. A slot the
// size of the largest datagram costs address space, not memory: the kernel
// touches only the pages a datagram fills.
func newBatch(slots, size int) *batch {
	b := &batch{bufs: make([][]byte, slots), oobs: make([][]byte, slots), got: make([]received, 0, slots)}
	for i := range slots {
		b.bufs[i] = make([]byte, size)
		b.oobs[i] = make([]byte, stampBytes)
	}
	return b
}

// sharedConn is the listener itself, shared by all readers.
type sharedConn struct {
	conn *net.UDPConn
}

func newSharedConn(conn *net.UDPConn) *sharedConn { return &sharedConn{conn: conn} }

// readOne takes one batch from io into b and returns holding turn, unless it fails.
func readOne(io packetIO, b *batch, turn *sync.Mutex) error {
	return io.readBatches(b, turn, func(*batch) bool { return false })
}

// readBatches takes one datagram a batch: Go's conn reads one at a time.
func (c *sharedConn) readBatches(b *batch, turn *sync.Mutex, serve func(*batch) bool) error {
	for {
		b.got = b.got[:0]
		// The readers queue on the descriptor's read lock anyway: waiting with
		// turn held costs them nothing more.
		turn.Lock()
		n, oobn, _, from, err := c.conn.ReadMsgUDPAddrPort(b.bufs[0], b.oobs[0])
		if err != nil {
			turn.Unlock()
			return err
		}
		b.got = append(b.got, received{
			data: b.bufs[0][:n], from: unmapped(from), arrived: arrivalOf(b.oobs[0][:oobn]),
			// Go reports MSG_TRUNC as a length past the buffer nowhere: a slot of
			// maxDatagram cannot truncate.
		})
		if !serve(b) {
			return nil
		}
	}
}

func (c *sharedConn) write(b []byte, to netip.AddrPort) error {
	_, err := c.conn.WriteToUDPAddrPort(b, to)
	return err
}

func (*sharedConn) flush() error { return nil }

func (*sharedConn) close() {}

// unmapped names an IPv4 peer of a dual-stack socket (::ffff:a.b.c.d) as IPv4, as
// sipgo's reads do, for bindings and logs.
func unmapped(from netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
}
