package registrar

import (
	"fmt"
	"net"

	"github.com/emiago/sipgo"
	"golang.org/x/sync/errgroup"

	"github.com/voipbin/registrar-operator/registrar/netguard"
	"github.com/voipbin/registrar-operator/registrar/tlsserve"
	"github.com/voipbin/registrar-operator/registrar/wsserve"
)

// WSConfig is SIP over WebSocket (RFC 7118); its zero value serves none.
type WSConfig struct {
	// Address is host:port to serve SIP over plain WebSocket (ws://) on.
	Address string
	// SecureAddress is host:port to serve SIP over secure WebSocket (wss://) on,
	// with the certificate of TLSConfig (rotated the same way).
	SecureAddress string
	// AllowedOrigins are the Origins of the web pages whose scripts may connect
	// (package wsserve): empty allows only pages on the host connected to, and
	// clients that send no Origin (not browsers).
	AllowedOrigins []string
}

// listenWS opens the WS and WSS listeners that are configured, each bounded as
// the TCP one is (handshake, first message, idleness, caps), each on its own.
func (r *Registrar) listenWS() error {
	c := r.cfg.WS
	policy := wsserve.Config{AllowedOrigins: c.AllowedOrigins}
	if c.Address != "" {
		l, err := net.Listen("tcp", c.Address)
		if err != nil {
			return fmt.Errorf("while listening for SIP over WebSocket on %s: %w", c.Address, err)
		}
		r.ws = r.wsGate(netguard.New(l, r.cfg.TCPGuard), policy, "WS")
	}
	if c.SecureAddress == "" {
		return nil
	}
	cert, err := r.certificate("SIP over secure WebSocket on " + c.SecureAddress)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.SecureAddress)
	if err != nil {
		return fmt.Errorf("while listening for SIP over secure WebSocket on %s: %w", c.SecureAddress, err)
	}
	inner := tlsserve.NewListener(l, tlsserve.Config(cert), r.log.WithName("wss"))
	inner.HandshakeFailed = r.m.tlsHandshakeFailures.Inc
	r.wss = r.wsGate(netguard.New(inner, r.cfg.TCPGuard), policy, "WSS")
	return nil
}

func (r *Registrar) wsGate(g *netguard.Listener, policy wsserve.Config, transport string) *wsserve.Listener {
	l := wsserve.NewListener(g, policy, r.log.WithName(transport))
	l.Refused = r.m.wsRefused.WithLabelValues(transport).Inc
	return l
}

// serveWS hands the WebSocket listeners to sipgo.
func (r *Registrar) serveWS(g *errgroup.Group, srv *sipgo.Server) {
	if r.ws != nil {
		g.Go(func() error { return ignoreClosed(srv.ServeWS(r.ws)) })
	}
	if r.wss != nil {
		g.Go(func() error { return ignoreClosed(srv.ServeWSS(r.wss)) })
	}
}

// closeWS closes the WebSocket listeners.
func (r *Registrar) closeWS() {
	for _, l := range []*wsserve.Listener{r.ws, r.wss} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// WSAddress returns where SIP over WebSocket listens (ws://), or "".
func (r *Registrar) WSAddress() string {
	if r.ws == nil {
		return ""
	}
	return r.ws.Addr().String()
}

// WSSAddress returns where SIP over secure WebSocket listens (wss://), or "".
func (r *Registrar) WSSAddress() string {
	if r.wss == nil {
		return ""
	}
	return r.wss.Addr().String()
}

// wsListeners are the guards of the WebSocket listeners, for the connection metrics.
func (r *Registrar) wsListeners() []labelled {
	var ls []labelled
	for _, l := range []struct {
		transport string
		gate      *wsserve.Listener
	}{{"WS", r.ws}, {"WSS", r.wss}} {
		if l.gate != nil {
			ls = append(ls, labelled{l.transport, l.gate.Listener.(*netguard.Listener)})
		}
	}
	return ls
}

// port is l's port, or 0 without l.
func port(l *wsserve.Listener) int {
	if l == nil {
		return 0
	}
	return l.Addr().(*net.TCPAddr).Port
}
