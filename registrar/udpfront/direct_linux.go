//go:build linux

package udpfront

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directSocket is one reader's own descriptor of the listener's socket (a dup), read
// and written with plain system calls (recvmmsg, sendmmsg); when there is nothing
// to read, the reader's goroutine parks in Go's poller.
//
// Through Go's UDPConn, every read and every write of all readers takes the one
// descriptor's lock, and a reader that finds the socket empty parks until the
// poller wakes it. Under load the readers queued on that lock and on the scheduler:
// at 4,900 registrations/s the probe's p99 fell from 1.7–1.9 ms to 1.0–1.6 ms with
// a descriptor per reader (hack/bench).
//
// It reads with recvmmsg, every datagram queued up to a batch in one system call,
// and sends with sendmmsg, up to txSlots responses in one: under load a system call
// and a wake-up per datagram were a good part of each datagram's cost.
type directSocket struct {
	fd    int
	file  *os.File        // owns fd; its poller registration is how the reader waits
	wait  syscall.RawConn // file's: Read parks the goroutine until fd is readable
	conn  *net.UDPConn    // the listener: closing it ends the readers
	inet6 bool            // the socket is AF_INET6 (IPv4 peers then arrive v4-mapped)
	armed bool            // a read deadline is set to check the listener at
	// lend lets another reader read while this one waits to send (readerGate).
	lend func() (giveBack func())

	rx     []mmsghdr // one per slot of the batch read into
	rxIov  []unix.Iovec
	rxName []unix.RawSockaddrAny

	tx     [txSlots]mmsghdr // responses queued until flush
	txIov  [txSlots]unix.Iovec
	txName [txSlots]unix.RawSockaddrAny
	txEnd  [txSlots]int // where each queued response ends in txBuf
	txN    int
	txBuf  []byte // the queued responses' bytes, never grown past its capacity
}

// txSlots is how many responses wait for one sendmmsg; a reader sends them sooner
// once it has answered its batch. Few enough that the first of them waits for
// seven answers at most.
const txSlots = 8

// txBytes is the room for queued responses; one that does not fit goes at once.
const txBytes = 32 << 10

// closedCheck is how often a reader checks that the listener is still open: its dup
// keeps the socket alive, so the listener's Close cannot wake it.
const closedCheck = 200 * time.Millisecond

// lend, called while the reader waits for a full send buffer to drain, lets another
// reader read meanwhile until the func it returns is called.
func openDirect(conn *net.UDPConn, lend func() (giveBack func())) (packetIO, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(s uintptr) { fd, dupErr = unix.Dup(int(s)) }); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, fmt.Errorf("while duplicating the UDP socket: %w", dupErr)
	}
	unix.CloseOnExec(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("while reading the UDP socket's address: %w", err)
	}
	_, inet6 := sa.(*unix.SockaddrInet6)
	// The dup shares the socket's O_NONBLOCK, so os.NewFile registers it with Go's
	// poller: a reader that finds the socket empty parks its goroutine there. It
	// used to wait in epoll_wait of its own, a blocking system call; with every
	// reader blocked so, the runtime's sysmon thread polled every 20 µs to take
	// their Ps back, and spent more CPU than the readers at ordinary rates (1.7 s
	// of CPU in 10 s at 1,000 registrations/s, against 0.2-0.3 s per reader).
	// The poller wakes every reader a datagram finds waiting, as the listener's
	// dups share one socket: the one that finds nothing parks again.
	file := os.NewFile(uintptr(fd), "udp-reader")
	wait, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("while watching the UDP socket: %w", err)
	}
	return &directSocket{fd: fd, file: file, wait: wait, conn: conn, inet6: inet6, lend: lend, txBuf: make([]byte, 0, txBytes)}, nil
}

// aim points the receive headers at b's slots, and resets what the kernel wrote
// in them last time.
func (s *directSocket) aim(b *batch) {
	if len(s.rx) != len(b.bufs) {
		s.rx = make([]mmsghdr, len(b.bufs))
		s.rxIov = make([]unix.Iovec, len(b.bufs))
		s.rxName = make([]unix.RawSockaddrAny, len(b.bufs))
	}
	for i := range s.rx {
		s.rxIov[i].Base = unsafe.SliceData(b.bufs[i])
		s.rxIov[i].SetLen(len(b.bufs[i]))
		h := &s.rx[i].hdr
		*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&s.rxName[i])), Namelen: unix.SizeofSockaddrAny, Iov: &s.rxIov[i], Iovlen: 1}
		if len(b.oobs[i]) > 0 {
			h.Control = &b.oobs[i][0]
			h.SetControllen(len(b.oobs[i]))
		}
		s.rx[i].len = 0
	}
}

// readBatches reads batches into b and hands each to serve (packetIO). It stays in
// one RawConn.Read for as long as it can: Go's poller then remembers a datagram
// that came while serve ran, so after a batch that emptied the socket the reader
// parks at once, where a fresh Read would first find the socket empty with one more
// recvmmsg, a system call per wake-up for nothing.
func (s *directSocket) readBatches(b *batch, turn *sync.Mutex, serve func(*batch) bool) error {
	for {
		if !s.armed {
			// The listener's Close cannot wake a reader parked on its dup: a
			// deadline does, to check it. It is set once per closedCheck, not per
			// read: resetting a deadline is a timer change, a lock and two clock
			// reads per batch, and a busy reader that meets it merely checks early.
			if err := s.listenerOpen(); err != nil {
				return err
			}
			if err := s.file.SetReadDeadline(time.Now().Add(closedCheck)); err != nil {
				return err
			}
			s.armed = true
		}
		var errno syscall.Errno
		done := false
		err := s.wait.Read(func(fd uintptr) bool {
			for {
				s.aim(b)
				// turn is held for the system call, and then by serve until it
				// has handed the batch on; never while the reader waits.
				turn.Lock()
				var n int
				n, errno = recvmmsg(int(fd), s.rx)
				switch errno {
				case 0:
				case unix.EAGAIN:
					turn.Unlock()
					return false // park until the socket is readable
				default:
					turn.Unlock()
					return true
				}
				s.collect(b, n)
				// Only a full batch can have left a crowd behind: the query
				// costs a system call that ordinary loads need not pay.
				b.crowded = n == len(s.rx) && queueCrowded(int(fd))
				if len(b.got) == 0 {
					turn.Unlock() // not an IP peer: nothing to answer
				} else if !serve(b) {
					done = true
					return true
				}
				if n < len(s.rx) {
					// The socket was empty: park, unless the poller saw a
					// datagram come since.
					return false
				}
			}
		})
		switch {
		case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
			s.armed = false
		case err != nil:
			return err
		case done:
			return nil
		case errno == 0 || errno == unix.EINTR: // a signal came first: read again
		default:
			return errno
		}
	}
}

// collect fills b.got with the n datagrams recvmmsg took.
func (s *directSocket) collect(b *batch, n int) {
	b.got = b.got[:0]
	for i := range n {
		m := &s.rx[i]
		from, ok := addrPortOf(&s.rxName[i])
		if !ok {
			continue
		}
		size := min(int(m.len), len(b.bufs[i]))
		b.got = append(b.got, received{
			data:      b.bufs[i][:size],
			from:      unmapped(from),
			arrived:   arrivalOf(b.oobs[i][:m.hdr.Controllen]),
			truncated: m.hdr.Flags&unix.MSG_TRUNC != 0,
		})
	}
}

// waitWritable blocks the thread until the socket can take a datagram, or closedCheck.
func (s *directSocket) waitWritable() {
	fds := [1]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLOUT}}
	_, _ = unix.Poll(fds[:], int(closedCheck/time.Millisecond))
}

func (s *directSocket) listenerOpen() error {
	rc, err := s.conn.SyscallConn()
	if err == nil {
		err = rc.Control(func(uintptr) {})
	}
	if err != nil {
		return net.ErrClosed
	}
	return nil
}

// write queues a copy of b for the next flush.
func (s *directSocket) write(b []byte, to netip.AddrPort) error {
	if len(b) == 0 {
		return nil
	}
	if s.txN == txSlots || len(s.txBuf)+len(b) > cap(s.txBuf) {
		if err := s.flush(); err != nil {
			return err
		}
	}
	s.txName[s.txN] = unix.RawSockaddrAny{}
	salen, ok := s.sockaddr(&s.txName[s.txN], to)
	if !ok || len(b) > cap(s.txBuf) {
		// A zoned IPv6 peer or a family the socket cannot reach: Go's conn
		// resolves the zone, or says why not; a response larger than the
		// queue's room goes alone. After those queued, to keep their order.
		if err := s.flush(); err != nil {
			return err
		}
		_, err := s.conn.WriteToUDPAddrPort(b, to)
		return err
	}
	s.txBuf = append(s.txBuf, b...)
	s.txEnd[s.txN] = len(s.txBuf)
	s.tx[s.txN].hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&s.txName[s.txN])), Namelen: salen}
	s.txN++
	return nil
}

// flush sends the queued responses. One the kernel refuses is skipped, and the
// first such error returned once the others went.
func (s *directSocket) flush() error {
	if s.txN == 0 {
		return nil
	}
	// The buffer no longer grows: the iovecs may point into it now.
	start := 0
	for i := range s.txN {
		s.txIov[i].Base = &s.txBuf[start]
		s.txIov[i].SetLen(s.txEnd[i] - start)
		s.tx[i].hdr.Iov = &s.txIov[i]
		s.tx[i].hdr.Iovlen = 1
		start = s.txEnd[i]
	}
	var failed error
	for sent, tries := 0, 0; sent < s.txN; {
		n, errno := sendmmsg(s.fd, s.tx[sent:s.txN])
		switch {
		case errno == 0:
			sent += n
			tries = 0
		case (errno == unix.EAGAIN || errno == unix.EINTR) && tries < 3:
			tries++
			giveBack := s.lend() // the send buffer is full: another reader reads meanwhile
			s.waitWritable()     // as long as it takes to drain
			giveBack()
		default:
			if failed == nil {
				to, _ := addrPortOf(&s.txName[sent])
				failed = fmt.Errorf("while sending a response to %s: %w", to, errno)
			}
			sent++
			tries = 0
		}
	}
	s.txN = 0
	s.txBuf = s.txBuf[:0]
	return failed
}

func (s *directSocket) close() { _ = s.file.Close() }

// sockaddr writes to into sa in the socket's family.
func (s *directSocket) sockaddr(sa *unix.RawSockaddrAny, to netip.AddrPort) (uint32, bool) {
	addr := to.Addr()
	if addr.Zone() != "" {
		return 0, false
	}
	if !s.inet6 {
		if !addr.Is4() {
			return 0, false
		}
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		in.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&in.Port))[:], to.Port())
		in.Addr = addr.As4()
		return unix.SizeofSockaddrInet4, true
	}
	in := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
	in.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&in.Port))[:], to.Port())
	in.Addr = addr.As16() // an IPv4 peer as ::ffff:a.b.c.d
	return unix.SizeofSockaddrInet6, true
}

// addrPortOf reads the peer's address as Go's net package reports it.
func addrPortOf(sa *unix.RawSockaddrAny) (netip.AddrPort, bool) {
	switch sa.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), port), true
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&in.Port))[:])
		addr := netip.AddrFrom16(in.Addr)
		if in.Scope_id != 0 {
			addr = addr.WithZone(strconv.FormatUint(uint64(in.Scope_id), 10))
		}
		return netip.AddrPortFrom(addr, port), true
	}
	return netip.AddrPort{}, false
}
