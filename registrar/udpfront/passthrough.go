package udpfront

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// datagram is one message for sipgo, copied out of a reader's buffer.
type datagram struct {
	data []byte
	from netip.AddrPort
}

// passThrough is the net.PacketConn sipgo serves: its reads are the datagrams the
// front end did not answer, its writes go straight to the socket. Deadlines apply
// to writes only; sipgo sets none.
type passThrough struct {
	conn    *net.UDPConn
	queue   chan datagram
	done    chan struct{}
	stopped sync.Once
}

func newPassThrough(conn *net.UDPConn, backlog int) *passThrough {
	return &passThrough{conn: conn, queue: make(chan datagram, backlog), done: make(chan struct{})}
}

// offer queues a copy of data for sipgo, or reports false when sipgo is that far
// behind: a reader never waits for it, so REGISTERs keep being answered.
func (p *passThrough) offer(data []byte, from netip.AddrPort) bool {
	d := datagram{data: append([]byte(nil), data...), from: from}
	select {
	case p.queue <- d:
		return true
	default:
		return false
	}
}

// stop ends the reads once the front end stops reading the socket.
func (p *passThrough) stop() { p.stopped.Do(func() { close(p.done) }) }

func (p *passThrough) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case d := <-p.queue:
		// sipgo reads into a buffer of the largest datagram size; a shorter one
		// truncates as a socket would.
		n := copy(b, d.data)
		return n, net.UDPAddrFromAddrPort(d.from), nil
	case <-p.done:
		return 0, nil, net.ErrClosed
	}
}

func (p *passThrough) WriteTo(b []byte, addr net.Addr) (int, error) { return p.conn.WriteTo(b, addr) }

// Close closes the socket, which ends the front end's readers and then these reads.
func (p *passThrough) Close() error {
	err := p.conn.Close()
	p.stop()
	return err
}

func (p *passThrough) LocalAddr() net.Addr                { return p.conn.LocalAddr() }
func (p *passThrough) SetDeadline(t time.Time) error      { return p.conn.SetWriteDeadline(t) }
func (p *passThrough) SetReadDeadline(time.Time) error    { return nil }
func (p *passThrough) SetWriteDeadline(t time.Time) error { return p.conn.SetWriteDeadline(t) }
