package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// The transports the TLS benchmark speaks, and SIP's WebSocket subprotocol (RFC 7118).
const (
	transportTLS   = "TLS"
	transportWSS   = "WSS"
	sipSubprotocol = "sip"
)

// The TLS benchmark's devices speak SIP over a connection: TLS (RFC 3261 §26) or
// secure WebSocket (RFC 7118), each from one of several loopback source addresses,
// so that many connections (and their TIME_WAITs) do not run out of ports.

// streamConn is one device connection.
type streamConn interface {
	send(msg []byte) error
	// receive returns the next SIP message (CRLF keep-alives skipped).
	receive(deadline time.Time) ([]byte, error)
	local() string
	Close() error
}

// streamDialer opens connections of one transport (TLS or WSS) to addr, taking
// the source addresses in turn.
type streamDialer struct {
	transport string // TLS or WSS
	addr      string
	tls       *tls.Config
	sources   []net.IP
	next      atomic.Uint64
}

func (d *streamDialer) dial(ctx context.Context) (streamConn, error) {
	src := d.sources[int(d.next.Add(1)%uint64(len(d.sources)))]
	nd := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: src}}
	switch d.transport {
	case "TLS":
		c, err := (&tls.Dialer{NetDialer: nd, Config: d.tls}).DialContext(ctx, "tcp", d.addr)
		if err != nil {
			return nil, fmt.Errorf("while connecting over TLS from %s: %w", src, err)
		}
		return &tlsStream{conn: c, in: bufio.NewReaderSize(c, 2048)}, nil
	case transportWSS:
		wd := ws.Dialer{Protocols: []string{sipSubprotocol}, Timeout: 10 * time.Second, TLSConfig: d.tls, NetDial: nd.DialContext}
		c, br, hs, err := wd.Dial(ctx, "wss://"+d.addr)
		if err != nil {
			return nil, fmt.Errorf("while connecting over WSS from %s: %w", src, err)
		}
		if br != nil {
			ws.PutReader(br)
		}
		if hs.Protocol != sipSubprotocol {
			_ = c.Close()
			return nil, fmt.Errorf("the WebSocket upgrade agreed on subprotocol %q, want sip", hs.Protocol)
		}
		return &wsStream{conn: c}, nil
	}
	return nil, fmt.Errorf("transport %q: want TLS or WSS", d.transport)
}

// loopbackSources are 127.0.0.2 ... 127.0.0.(n+1), n at most 250: Linux routes all
// of 127/8 to lo.
func loopbackSources(n int) []net.IP {
	ips := make([]net.IP, min(max(n, 1), 250))
	for i := range ips {
		ips[i] = net.IPv4(127, 0, 0, byte(i+2))
	}
	return ips
}

type tlsStream struct {
	conn net.Conn
	in   *bufio.Reader
}

func (s *tlsStream) send(msg []byte) error { _, err := s.conn.Write(msg); return err }
func (s *tlsStream) local() string         { return s.conn.LocalAddr().String() }
func (s *tlsStream) Close() error          { return s.conn.Close() }

func (s *tlsStream) receive(deadline time.Time) ([]byte, error) {
	_ = s.conn.SetReadDeadline(deadline)
	return readStreamMessage(s.in)
}

// readStreamMessage reads one SIP message off a stream: headers to the blank line,
// then Content-Length bytes of body. CRLFs before it (keep-alive answers) are skipped.
func readStreamMessage(r *bufio.Reader) ([]byte, error) {
	var msg bytes.Buffer
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("while reading headers: %w", err)
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			if msg.Len() == 0 {
				continue // a keep-alive
			}
			msg.WriteString(line)
			break
		}
		msg.WriteString(line)
		if name, value, ok := strings.Cut(trimmed, ":"); ok && (strings.EqualFold(strings.TrimSpace(name), "Content-Length") || strings.TrimSpace(name) == "l") {
			if length, err = strconv.Atoi(strings.TrimSpace(value)); err != nil || length < 0 {
				return nil, fmt.Errorf("bad Content-Length %q", value)
			}
		}
	}
	if _, err := io.CopyN(&msg, r, int64(length)); err != nil {
		return nil, fmt.Errorf("while reading a body of %d bytes: %w", length, err)
	}
	return msg.Bytes(), nil
}

type wsStream struct {
	conn net.Conn
}

// send writes one message in a text frame, masked as a client must.
func (s *wsStream) send(msg []byte) error { return wsutil.WriteClientText(s.conn, msg) }
func (s *wsStream) local() string         { return s.conn.LocalAddr().String() }
func (s *wsStream) Close() error          { return s.conn.Close() }

func (s *wsStream) receive(deadline time.Time) ([]byte, error) {
	_ = s.conn.SetReadDeadline(deadline)
	for {
		data, err := wsutil.ReadServerText(s.conn)
		if err != nil {
			return nil, err
		}
		if len(bytes.Trim(data, "\r\n")) > 0 {
			return data, nil
		}
	}
}

// exchange sends a REGISTER of d and returns the final response to it.
func exchange(c streamConn, d *device, msg []byte, timeout time.Duration) (sipResponse, error) {
	cseq := strconv.Itoa(d.cseq) + " REGISTER"
	if err := c.send(msg); err != nil {
		return sipResponse{}, fmt.Errorf("while sending: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		data, err := c.receive(deadline)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return sipResponse{}, fmt.Errorf("%w to CSeq %s within %s", errLost, cseq, timeout)
			}
			return sipResponse{}, err
		}
		r, ok := parseResponse(data)
		if ok && r.callID == d.callID && r.cseq == cseq && r.code >= 200 {
			return r, nil
		}
	}
}

// registerOver registers d over c as a phone does: REGISTER, 401/407, REGISTER with
// the digest answer, 200 OK. local is the host:port of its Via and Contact; empty:
// the connection's own end.
func registerOver(c streamConn, d *device, local string, timeout time.Duration) error {
	if local == "" {
		local = c.local()
	}
	r, err := exchange(c, d, d.request(local, ""), timeout)
	if err != nil {
		return err
	}
	if r.code != 401 && r.code != 407 {
		return fmt.Errorf("REGISTER answered %d, want 401 or 407", r.code)
	}
	auth, err := digestAnswer(r, d.u, "sip:"+d.u.Domain)
	if err != nil {
		return err
	}
	if r, err = exchange(c, d, d.request(local, auth), timeout); err != nil {
		return err
	}
	if r.code != 200 {
		return fmt.Errorf("authenticated REGISTER of %s@%s answered %d", d.u.Name, d.u.Domain, r.code)
	}
	return nil
}
