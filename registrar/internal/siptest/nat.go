package siptest

import (
	"errors"
	"net"
	"sync"
	"testing"
)

// NAT stands between a phone and a replica over UDP as kube-proxy does between a
// phone outside the cluster and a pod: the phone sends to the NAT's Outer
// address, the replica sees those datagrams come from its Inner address, and what
// the replica sends to Inner reaches the phone from Outer. Neither the replica's
// address nor its port survives the crossing: a phone that answers the replica
// at its Via's sent-by port, not at the port the request came from, misses it.
type NAT struct {
	outer, inner *net.UDPConn
	replica      *net.UDPAddr

	mu    sync.Mutex
	phone net.Addr // where the last datagram from outside came from
}

// NewNAT opens a NAT on two sockets of its own at ip, in front of the replica at
// replica (host:port), closed when the test ends.
func NewNAT(t testing.TB, ip, replica string) *NAT {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", replica)
	if err != nil {
		t.Fatalf("while resolving %s: %v", replica, err)
	}
	n := &NAT{replica: to}
	for _, c := range []**net.UDPConn{&n.outer, &n.inner} {
		if *c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)}); err != nil {
			t.Fatalf("while opening the NAT's sockets: %v", err)
		}
		conn := *c
		t.Cleanup(func() { _ = conn.Close() })
	}
	go n.pass(n.outer, n.inner, func(from net.Addr) net.Addr { n.setPhone(from); return n.replica })
	go n.pass(n.inner, n.outer, func(net.Addr) net.Addr { return n.getPhone() })
	return n
}

// Outer is the address the phone sends to (the Service's).
func (n *NAT) Outer() string { return n.outer.LocalAddr().String() }

// Inner is the address the replica sees the phone's datagrams come from.
func (n *NAT) Inner() string { return n.inner.LocalAddr().String() }

// pass copies each datagram read on in out of out, to where dest says, until in
// is closed.
func (n *NAT) pass(in, out *net.UDPConn, dest func(from net.Addr) net.Addr) {
	buf := make([]byte, 65535)
	for {
		k, from, err := in.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		if to := dest(from); to != nil {
			_, _ = out.WriteTo(buf[:k], to)
		}
	}
}

func (n *NAT) setPhone(a net.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.phone = a
}

func (n *NAT) getPhone() net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.phone
}
