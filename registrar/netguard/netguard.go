// Package netguard bounds what idle and half-open TCP connections can cost the
// registrar. sipgo gives every accepted connection a goroutine and a 32 KiB read
// buffer and never times one out, so a peer that opens thousands of connections and
// sends nothing (or half a message) would grow memory without bound; and its accept
// loop returns on the first error, so running out of file descriptors would stop
// TCP for good.
//
// Listener wraps the TCP listener handed to sipgo (and the TLS one, around the
// handshake: its deadlines then bound the handshake too):
//
//   - at most MaxPerIP connections from one address (an IPv6 /64 counts as one), and
//     MaxConns in all; past MaxConns the oldest connection that has not yet sent a
//     complete message is closed to make room, so a flood of silent connections
//     cannot keep a device from connecting;
//   - a connection must deliver the headers of its first message within
//     FirstMessage, and is closed after Idle without a byte (CRLF keep-alives count);
//   - temporary accept errors (out of file descriptors, an aborted handshake) are
//     retried with a backoff instead of ending the accept loop.
//
// Refused and evicted connections are reset (SO_LINGER 0): a flood leaves no
// TIME_WAIT sockets behind on the registrar's side.
package netguard

import (
	"container/list"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for the registrar's flags.
const (
	// DefaultMaxConns holds about 200 MiB of sipgo connections (some 45 KiB each).
	DefaultMaxConns = 4096
	// DefaultMaxPerIP leaves room for an office of TCP phones behind one NAT address.
	DefaultMaxPerIP = 256
	// DefaultFirstMessage is long enough for a slow link, short enough that silent
	// connections turn over quickly.
	DefaultFirstMessage = 10 * time.Second
	// DefaultIdle is the longest registration interval a Domain grants by default
	// (maxExpires 7200 s): a device that keeps its connection for incoming calls
	// refreshes (or sends keep-alives) within it.
	DefaultIdle = 2 * time.Hour
)

// Config bounds the connections of a Listener; a zero field means no bound.
type Config struct {
	MaxConns     int
	MaxPerIP     int
	FirstMessage time.Duration
	Idle         time.Duration
}

// DefaultConfig returns the defaults the registrar's flags start from.
func DefaultConfig() Config {
	return Config{MaxConns: DefaultMaxConns, MaxPerIP: DefaultMaxPerIP, FirstMessage: DefaultFirstMessage, Idle: DefaultIdle}
}

// Stats counts what a Listener did.
type Stats struct {
	// Active is the number of connections open now.
	Active int
	// RefusedPerIP and RefusedTotal were closed at accept, over MaxPerIP or MaxConns.
	RefusedPerIP, RefusedTotal int64
	// Evicted were closed, silent, to make room under MaxConns.
	Evicted int64
	// TimedOut were closed by the FirstMessage or Idle deadline.
	TimedOut int64
}

// Listener is a net.Listener whose connections are bounded by a Config.
type Listener struct {
	net.Listener
	cfg Config

	mu       sync.Mutex
	perIP    map[string]int
	active   int
	unproven list.List // of *conn, oldest first: eviction candidates

	refusedPerIP, refusedTotal, evicted, timedOut atomic.Int64
}

// New wraps l.
func New(l net.Listener, cfg Config) *Listener {
	return &Listener{Listener: l, cfg: cfg, perIP: map[string]int{}}
}

// Stats returns the counts so far.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	active := l.active
	l.mu.Unlock()
	return Stats{
		Active: active, RefusedPerIP: l.refusedPerIP.Load(), RefusedTotal: l.refusedTotal.Load(),
		Evicted: l.evicted.Load(), TimedOut: l.timedOut.Load(),
	}
}

const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// Accept returns the next connection within the bounds, closing those over them.
func (l *Listener) Accept() (net.Conn, error) {
	backoff := time.Duration(0)
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !temporary(err) {
				return nil, err
			}
			// Out of descriptors or a handshake aborted: wait and retry, as net/http
			// does; returning would end sipgo's accept loop and TCP with it.
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if gc := l.admit(c); gc != nil {
			return gc, nil
		}
		reset(c)
	}
}

// admit counts c in, or returns nil if it is over a bound.
func (l *Listener) admit(c net.Conn) *conn {
	key := ipKey(c.RemoteAddr())
	var victim *conn
	l.mu.Lock()
	if l.cfg.MaxPerIP > 0 && l.perIP[key] >= l.cfg.MaxPerIP {
		l.mu.Unlock()
		l.refusedPerIP.Add(1)
		return nil
	}
	if l.cfg.MaxConns > 0 && l.active >= l.cfg.MaxConns {
		front := l.unproven.Front()
		if front == nil {
			l.mu.Unlock()
			l.refusedTotal.Add(1)
			return nil
		}
		victim = front.Value.(*conn)
		l.releaseLocked(victim)
	}
	gc := &conn{Conn: c, l: l, key: key}
	l.perIP[key]++
	l.active++
	gc.elem = l.unproven.PushBack(gc)
	l.mu.Unlock()
	if victim != nil {
		l.evicted.Add(1)
		reset(victim.Conn)
	}
	if l.cfg.FirstMessage > 0 {
		_ = c.SetReadDeadline(time.Now().Add(l.cfg.FirstMessage))
	}
	return gc
}

// releaseLocked takes c out of the counts once; l.mu is held.
func (l *Listener) releaseLocked(c *conn) {
	if c.released {
		return
	}
	c.released = true
	if c.elem != nil {
		l.unproven.Remove(c.elem)
		c.elem = nil
	}
	l.active--
	if l.perIP[c.key]--; l.perIP[c.key] <= 0 {
		delete(l.perIP, c.key)
	}
}

// unprovenLen counts the connections that may be evicted.
func (l *Listener) unprovenLen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unproven.Len()
}

// prove marks c as having sent a complete message: it is no longer evicted.
func (l *Listener) prove(c *conn) {
	l.mu.Lock()
	if c.elem != nil {
		l.unproven.Remove(c.elem)
		c.elem = nil
	}
	l.mu.Unlock()
}

// conn is one accepted connection.
type conn struct {
	net.Conn
	l   *Listener
	key string

	// Guarded by l.mu.
	elem     *list.Element
	released bool

	// Used by the one reading goroutine only.
	proven  bool
	framed  bool   // messages come in frames the scan cannot read: Prove proves
	started bool   // a non-CRLF byte arrived: a message began
	tail    uint32 // the last four bytes, to spot the CRLF CRLF that ends headers
}

// Read reads with the connection's deadline: FirstMessage until the headers of the
// first message are in, then Idle from each read. A deadline that passes closes the
// connection and reads as io.EOF, which sipgo takes as an ordinary close.
func (c *conn) Read(b []byte) (int, error) {
	if c.proven && c.l.cfg.Idle > 0 {
		_ = c.SetReadDeadline(time.Now().Add(c.l.cfg.Idle))
	}
	n, err := c.Conn.Read(b)
	if n > 0 && !c.proven && !c.framed && c.scan(b[:n]) {
		c.Prove()
	}
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		c.l.timedOut.Add(1)
		c.release()
		reset(c.Conn)
		return n, io.EOF
	}
	return n, err
}

// Prove marks the connection as having sent a complete message: it is no longer
// evicted, and from now on its deadline is Idle from each read. The guard calls it
// on the headers of the first message; a framing layer above (WebSocket) calls it
// on its first message. Only the reading goroutine may call it.
func (c *conn) Prove() {
	if c.proven {
		return
	}
	c.proven = true
	c.l.prove(c)
	if c.l.cfg.Idle > 0 {
		_ = c.SetReadDeadline(time.Now().Add(c.l.cfg.Idle))
	} else {
		_ = c.SetReadDeadline(time.Time{})
	}
}

// Framed tells the guard that what the connection sent so far was a preamble (a
// WebSocket upgrade request), not a message, and that its messages now come in
// frames the guard cannot read (a browser masks them): the connection is unproven
// again, evicted first and under the FirstMessage deadline, until Prove. Only the
// reading goroutine may call it.
func (c *conn) Framed() {
	c.framed, c.proven = true, false
	c.l.mu.Lock()
	if !c.released && c.elem == nil {
		c.elem = c.l.unproven.PushBack(c)
	}
	c.l.mu.Unlock()
	if c.l.cfg.FirstMessage > 0 {
		_ = c.SetReadDeadline(time.Now().Add(c.l.cfg.FirstMessage))
	} else {
		_ = c.SetReadDeadline(time.Time{})
	}
}

// scan reports whether p completes the headers of the first message.
func (c *conn) scan(p []byte) bool {
	for _, ch := range p {
		if !c.started {
			if ch == '\r' || ch == '\n' {
				continue // keep-alives before the first message
			}
			c.started = true
		}
		c.tail = c.tail<<8 | uint32(ch)
		if c.tail == 0x0d0a0d0a {
			return true
		}
	}
	return false
}

func (c *conn) release() {
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
}

// NetConn is the connection under the guard, for a layer above to shut down.
func (c *conn) NetConn() net.Conn { return c.Conn }

// Close closes the connection and gives its place back.
func (c *conn) Close() error {
	c.release()
	return c.Conn.Close()
}

// reset closes c with an RST instead of a FIN: no TIME_WAIT on our side. Under
// TLS it is the TCP connection that is reset, with no close_notify written to a
// peer that may not read.
func reset(c net.Conn) {
	for {
		inner, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = inner.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// ipKey is the address a connection is counted under: the IP, or the /64 of an
// IPv6 address (one subscriber's prefix).
func ipKey(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		return host
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return ta.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// temporary reports accept errors worth retrying.
func temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}
