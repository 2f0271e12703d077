package tlsserve

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// serve accepts from a TLS Listener on loopback and reports, per connection, the
// error that ended its reading (as sipgo reads); deadline, when set, is each
// connection's read deadline, and configure changes the Listener before it serves.
func serve(t *testing.T, deadline time.Duration, configure func(*ListenerConfig)) (*Listener, chan error) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, err := pair(t, 1).Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := LoadCertificate(certFile, keyFile, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if deadline > 0 {
		inner = deadlineListener{inner, deadline}
	}
	cfg := ListenerConfig{TLS: Config(cert), Log: logr.Discard()}
	if configure != nil {
		configure(&cfg)
	}
	l := NewListener(inner, cfg)
	t.Cleanup(func() { _ = l.Close() })
	ended := make(chan error, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						ended <- err
						return
					}
				}
			}()
		}
	}()
	return l, ended
}

func endedWith(t *testing.T, ended chan error) error {
	t.Helper()
	select {
	case err := <-ended:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the connection is still being read")
		return nil
	}
}

// Plain SIP sent to the TLS port, a client that offers only TLS 1.1, and one that
// offers only key exchanges without forward secrecy (RSA), end their connection as
// a close (io.EOF, which sipgo does not log as an error), counted.
func TestFailedHandshakesEndQuietly(t *testing.T) {
	var failures atomic.Int32
	l, ended := serve(t, 0, func(c *ListenerConfig) { c.HandshakeFailed = func() { failures.Add(1) } })

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := io.WriteString(c, "OPTIONS sip:x SIP/2.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := endedWith(t, ended); !errors.Is(err, io.EOF) {
		t.Errorf("plain text on the TLS port ended with %v, want io.EOF", err)
	}

	for name, conf := range map[string]*tls.Config{
		"TLS 1.1": {InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11},
		"RSA key exchange": {InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}},
	} {
		c, err := tls.Dial("tcp", l.Addr().String(), conf)
		if err == nil {
			_ = c.Close()
			t.Errorf("a client with %s completed its handshake", name)
		}
		if err := endedWith(t, ended); !errors.Is(err, io.EOF) {
			t.Errorf("a handshake with %s ended with %v, want io.EOF", name, err)
		}
	}
	if n := failures.Load(); n != 3 {
		t.Errorf("%d failed handshakes counted, want 3", n)
	}
}

// A handshake that stalls past the connection's read deadline ends with the
// timeout itself: the guard around (package netguard) counts it and resets.
func TestStalledHandshakeTimesOut(t *testing.T) {
	l, ended := serve(t, 100*time.Millisecond, nil)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	var ne net.Error
	if err := endedWith(t, ended); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a stalled handshake ended with %v, want a timeout", err)
	}
}

// A handshake that stalls with no read deadline set (the guard's first-message
// timeout off) still ends, at HandshakeTimeout.
func TestStalledHandshakeTimesOutWithoutADeadline(t *testing.T) {
	l, ended := serve(t, 0, func(c *ListenerConfig) { c.HandshakeTimeout = 100 * time.Millisecond })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	var ne net.Error
	if err := endedWith(t, ended); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a stalled handshake ended with %v, want a timeout", err)
	}
}

// deadlineListener sets a read deadline on each connection, as netguard does.
type deadlineListener struct {
	net.Listener
	d time.Duration
}

func (l deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		_ = c.SetReadDeadline(time.Now().Add(l.d))
	}
	return c, err
}
