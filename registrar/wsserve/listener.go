// Package wsserve serves SIP over WebSocket (RFC 7118) in front of sipgo's WS and
// WSS transports, adding what they lack. sipgo v1.7.3 upgrades any request (no
// Origin check, no need to offer the sip subprotocol), logs every failed upgrade
// as an error, clears the connection's deadlines once upgraded, and reads frames
// loosely: it neither answers a ping nor consumes its payload (whose bytes it then
// takes for the next frame header), drops continuation frames (a fragmented
// message loses its tail), closes without answering a Close, and closes the
// connection, unanswered, on the first message its parser refuses.
//
// Listener wraps the listener handed to sipgo (ServeWS, or ServeWSS over a TLS
// listener). Each connection checks the upgrade request itself (method, version,
// key, the sip subprotocol, the Origin allow-list): a refused one is answered
// with an HTTP error and closed before sipgo upgrades it; an accepted one is
// replayed to sipgo, which answers it. From then on the connection reads the
// client's frames itself (answering pings, echoing Close, failing on protocol
// errors) and hands sipgo each message as one plain frame; it writes each of
// sipgo's frames whole, so a pong never lands inside one. A message sipgo's parser
// would refuse, on which sipgo would close the connection, never reaches it: a
// request is answered 400 where it can be, anything else dropped, and the
// connection stays (malformed.go).
package wsserve

import (
	"net"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"
)

// DefaultHandshakeTimeout bounds an upgrade request when the guard below sets
// no deadline.
const DefaultHandshakeTimeout = 10 * time.Second

// MaxMessage is the largest message taken: sipgo reads a WebSocket message into
// a buffer of this size and would cut a longer one short.
var MaxMessage = int(sip.TransportBufferReadSize)

// Config is who may connect and how long an upgrade may take.
type Config struct {
	// AllowedOrigins are the Origins (scheme://host[:port]) of web pages whose
	// scripts may connect; "*" allows any. A page on the host the client connects
	// to is always allowed, as is a client that sends no Origin (not a browser).
	AllowedOrigins []string
	// HandshakeTimeout bounds the upgrade request; 0 is DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// Listener accepts WebSocket connections from an inner listener (package netguard
// around TCP or TLS); the upgrade happens on a connection's first read, in its own
// goroutine, so that a slow client never blocks Accept.
type Listener struct {
	net.Listener
	cfg    Config
	policy *policy
	log    logr.Logger
	// Refused, when set, is told of each refused upgrade.
	Refused func()
}

// NewListener serves WebSocket upgrades on inner.
func NewListener(inner net.Listener, cfg Config, log logr.Logger) *Listener {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return &Listener{Listener: inner, cfg: cfg, policy: newPolicy(cfg.AllowedOrigins), log: log}
}

// Accept returns the next connection; its upgrade happens on first read.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newConn(c, l), nil
}
