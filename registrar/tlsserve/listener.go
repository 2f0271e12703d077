package tlsserve

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"github.com/go-logr/logr"
)

// MinVersion is the oldest TLS the registrar speaks: TLS 1.0 and 1.1 are
// deprecated (RFC 8996).
const MinVersion = tls.VersionTLS12

// DefaultHandshakeTimeout bounds a handshake even when the guard around sets no
// deadline (its first-message timeout switched off).
const DefaultHandshakeTimeout = 10 * time.Second

// Config returns the server configuration for SIP over TLS with cert. No client
// certificate is asked for: devices authenticate with digest, as over UDP and TCP.
func Config(cert *Certificate) *tls.Config {
	return &tls.Config{MinVersion: MinVersion, GetCertificate: cert.GetCertificate}
}

// Listener accepts TLS connections from an inner listener. Unlike tls.NewListener,
// a handshake that fails (a scanner, a client that refuses our certificate) ends
// its connection as an ordinary close, logged at debug level and counted, instead
// of a read error that sipgo would log for every one. A handshake that times out
// is passed on as the timeout it is, for the guard around (package netguard) to
// count and reset. The handshake runs on the connection's first read, in the
// connection's own goroutine, under the deadline the guard set and HandshakeTimeout,
// whichever comes first: a peer that never finishes it holds nothing past them and
// never blocks Accept.
type Listener struct {
	net.Listener
	cfg ListenerConfig
}

// ListenerConfig is what a Listener serves with; TLS is required.
type ListenerConfig struct {
	// TLS is the server configuration (see Config).
	TLS *tls.Config
	// HandshakeFailed, if not nil, is told of each failed handshake.
	HandshakeFailed func()
	// HandshakeTimeout bounds each handshake; 0 is DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	Log              logr.Logger
}

// NewListener serves TLS on inner as cfg says.
func NewListener(inner net.Listener, cfg ListenerConfig) *Listener {
	return &Listener{Listener: inner, cfg: cfg}
}

// Accept returns the next connection; its handshake happens on first read.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &serverConn{Conn: tls.Server(c, l.cfg.TLS), raw: c, l: l}, nil
}

// serverConn is one accepted TLS connection.
type serverConn struct {
	*tls.Conn
	raw net.Conn
	l   *Listener
	// Used by the one reading goroutine only.
	shaken bool
}

// Read completes the handshake first.
func (c *serverConn) Read(b []byte) (int, error) {
	if !c.shaken {
		timeout := c.l.cfg.HandshakeTimeout
		if timeout <= 0 {
			timeout = DefaultHandshakeTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := c.HandshakeContext(ctx)
		cancel()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0, err
			}
			if c.l.cfg.HandshakeFailed != nil {
				c.l.cfg.HandshakeFailed()
			}
			c.l.cfg.Log.V(1).Info("TLS handshake failed", "remote", c.RemoteAddr().String(), "error", err.Error())
			_ = c.raw.Close()
			return 0, io.EOF
		}
		c.shaken = true
	}
	return c.Conn.Read(b)
}

// NetConn is the TCP connection under TLS, for the guard to reset.
func (c *serverConn) NetConn() net.Conn { return c.raw }
