package siptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Transport carries a phone's messages. A datagram transport sends each message to
// the address it is given; a connection carries everything over itself and ignores it.
type Transport interface {
	// Name is the transport as a Via names it: UDP, TCP, TLS (WS, WSS).
	Name() string
	LocalAddr() net.Addr
	// Send writes one message; to is where a datagram goes.
	Send(msg []byte, to net.Addr) error
	// Receive returns the next message as it came, and its source, by deadline.
	Receive(deadline time.Time) ([]byte, net.Addr, error)
	Close() error
}

// UDP is a datagram transport on a socket of its own.
type UDP struct{ Conn net.PacketConn }

// ListenUDP opens a UDP socket on a free port of ip.
func ListenUDP(ip string) (*UDP, error) {
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, fmt.Errorf("while opening a UDP socket on %s: %w", ip, err)
	}
	return &UDP{Conn: c}, nil
}

// Name implements Transport.
func (u *UDP) Name() string { return "UDP" }

// LocalAddr implements Transport.
func (u *UDP) LocalAddr() net.Addr { return u.Conn.LocalAddr() }

// Send implements Transport.
func (u *UDP) Send(msg []byte, to net.Addr) error {
	_, err := u.Conn.WriteTo(msg, to)
	return err
}

// Receive implements Transport.
func (u *UDP) Receive(deadline time.Time) ([]byte, net.Addr, error) {
	buf := make([]byte, 65535)
	if err := u.Conn.SetReadDeadline(deadline); err != nil {
		return nil, nil, err
	}
	n, from, err := u.Conn.ReadFrom(buf)
	if err != nil {
		return nil, nil, err
	}
	return buf[:n], from, nil
}

// Close implements Transport.
func (u *UDP) Close() error { return u.Conn.Close() }

// Stream is a connection (TCP or TLS) that frames messages by Content-Length.
type Stream struct {
	Conn net.Conn
	name string
	in   *bufio.Reader
}

// NewStream frames messages over c, a transport called name (TCP, TLS).
func NewStream(c net.Conn, name string) *Stream {
	return &Stream{Conn: c, name: name, in: bufio.NewReader(c)}
}

// DialTCP connects to addr over TCP.
func DialTCP(addr string) (*Stream, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("while connecting to %s: %w", addr, err)
	}
	return NewStream(c, "TCP"), nil
}

// DialTLS connects to addr over TLS with cfg, verifying the server as cfg says.
func DialTLS(addr string, cfg *tls.Config) (*Stream, error) {
	d := &tls.Dialer{Config: cfg, NetDialer: &net.Dialer{Timeout: 5 * time.Second}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("while connecting over TLS to %s: %w", addr, err)
	}
	return NewStream(c, "TLS"), nil
}

// Name implements Transport.
func (s *Stream) Name() string { return s.name }

// LocalAddr implements Transport.
func (s *Stream) LocalAddr() net.Addr { return s.Conn.LocalAddr() }

// Send implements Transport.
func (s *Stream) Send(msg []byte, _ net.Addr) error {
	_, err := s.Conn.Write(msg)
	return err
}

// Receive implements Transport.
func (s *Stream) Receive(deadline time.Time) ([]byte, net.Addr, error) {
	if err := s.Conn.SetReadDeadline(deadline); err != nil {
		return nil, nil, err
	}
	msg, err := ReadStream(s.in)
	return msg, s.Conn.RemoteAddr(), err
}

// Close implements Transport.
func (s *Stream) Close() error { return s.Conn.Close() }

// ReadStream reads one SIP message from a stream: the headers up to the empty line,
// then Content-Length bytes of body.
func ReadStream(r *bufio.Reader) ([]byte, error) {
	var msg bytes.Buffer
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("while reading headers: %w", err)
		}
		msg.WriteString(line)
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			break
		}
		if name, value, ok := strings.Cut(trimmed, ":"); ok && (strings.EqualFold(strings.TrimSpace(name), "Content-Length") || name == "l") {
			if length, err = strconv.Atoi(strings.TrimSpace(value)); err != nil {
				return nil, fmt.Errorf("bad Content-Length %q: %w", value, err)
			}
		}
	}
	if _, err := io.CopyN(&msg, r, int64(length)); err != nil {
		return nil, fmt.Errorf("while reading a body of %d bytes: %w", length, err)
	}
	return msg.Bytes(), nil
}
