package main

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is N phones that stay registered: each re-registers every period (REGISTER,
// 401/407, REGISTER with digest, 200 OK) with its own Call-ID and a growing CSeq, as
// a real phone does, so that a refresh changes nothing but the binding's expiry.
// (SIPp cannot be that phone for many domains: it takes one digest-uri per run.)
// Device i is due at start + i·period/N + k·period: one steady registration rate.
type fleet struct {
	conn    *net.UDPConn
	target  *net.UDPAddr
	local   string
	devs    []*fleetDevice
	byCall  map[string]*fleetDevice
	period  time.Duration
	timeout time.Duration

	ok, lost, failed, sent atomic.Int64
	lastErr                atomic.Value
}

type fleetDevice struct {
	mu sync.Mutex
	d  *device
	// state: 0 registered (or never tried), 1 waiting for the challenge, 2 waiting for 200 OK.
	state  int
	sentAt time.Time
}

func newFleet(target string, users []user, period time.Duration, expires int) (*fleet, error) {
	taddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(4 << 20)
	f := &fleet{conn: conn, target: taddr, local: conn.LocalAddr().String(), period: period,
		timeout: 5 * time.Second, byCall: make(map[string]*fleetDevice, len(users))}
	for _, u := range users {
		d := newDevice(u)
		d.expires = expires
		fd := &fleetDevice{d: d}
		f.devs = append(f.devs, fd)
		f.byCall[d.callID] = fd
	}
	return f, nil
}

// run paces the devices until ctx ends.
func (f *fleet) run(ctx context.Context) {
	defer func() { _ = f.conn.Close() }()
	go f.receive(ctx)
	n := len(f.devs)
	gap := f.period / time.Duration(n)
	start := time.Now()
	for k := 0; ; k++ {
		due := start.Add(time.Duration(k) * gap)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		} else if ctx.Err() != nil {
			return
		}
		fd := f.devs[k%n]
		fd.mu.Lock()
		if fd.state != 0 {
			// The previous round never finished.
			f.lost.Add(1)
		}
		fd.state, fd.sentAt = 1, time.Now()
		msg := fd.d.request(f.local, "")
		fd.mu.Unlock()
		f.send(msg)
	}
}

func (f *fleet) send(msg []byte) {
	f.sent.Add(1)
	if _, err := f.conn.WriteToUDP(msg, f.target); err != nil {
		f.failed.Add(1)
		f.lastErr.Store(err.Error())
	}
}

func (f *fleet) receive(ctx context.Context) {
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		_ = f.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, _, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		r, ok := parseResponse(buf[:n])
		if !ok || r.code < 200 {
			continue
		}
		fd := f.byCall[r.callID]
		if fd == nil {
			continue
		}
		fd.mu.Lock()
		switch {
		case fd.state == 1 && (r.code == 401 || r.code == 407):
			auth, err := digestAnswer(r, fd.d.u, "sip:"+fd.d.u.Domain)
			if err != nil {
				fd.state = 0
				f.failed.Add(1)
				f.lastErr.Store(err.Error())
				break
			}
			fd.state = 2
			msg := fd.d.request(f.local, auth)
			fd.mu.Unlock()
			f.send(msg)
			continue
		case fd.state == 2 && r.code == 200:
			fd.state = 0
			f.ok.Add(1)
		case fd.state != 0:
			fd.state = 0
			f.failed.Add(1)
			f.lastErr.Store("unexpected " + r.cseq + " answer " + strconv.Itoa(r.code))
		}
		fd.mu.Unlock()
	}
}
