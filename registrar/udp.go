package registrar

import (
	"net"
	"time"

	"github.com/emiago/sipgo"
	"golang.org/x/sync/errgroup"

	"github.com/voipbin/registrar-operator/registrar/udpfront"
)

// serveUDP answers REGISTERs over UDP statelessly (package udpfront) and gives
// sipgo the rest, unless the configuration keeps REGISTER on sipgo's transactions.
// It returns the front end, or nil without one.
func (r *Replica) serveUDP(g *errgroup.Group, srv *sipgo.Server) *udpfront.Front {
	conn, ok := r.udp.(*net.UDPConn)
	if ok && r.cfg.UDPReceiveBuffer > 0 {
		if err := conn.SetReadBuffer(r.cfg.UDPReceiveBuffer); err != nil {
			r.log.Error(err, "could not size the UDP receive buffer; bursts may be dropped", "bytes", r.cfg.UDPReceiveBuffer)
		}
	}
	if r.cfg.TransactionalUDPRegister || !ok {
		g.Go(func() error { return ignoreClosed(srv.ServeUDP(r.udp)) })
		return nil
	}
	front := udpfront.New(udpfront.Config{
		Conn:           conn,
		Handle:         r.registers.HandleDatagram,
		Reconfirm:      r.registers.Reconfirm,
		ShedAge:        shedAge(r.cfg.UDPShedAge),
		SourceRefusals: unbounded(r.cfg.UDPShedRepliesPerSource),
		Refusals:       unbounded(r.cfg.UDPShedReplies),
		Observer:       r.m,
		Log:            r.log.WithName("udp"),
	})
	g.Go(front.Serve)
	g.Go(func() error { return ignoreClosed(srv.ServeUDP(front.Rest())) })
	return front
}

// shedAge is udpfront's ShedAge for a Config's UDPShedAge, whose zero value sheds
// nothing (udpfront's would shed at its default).
func shedAge(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// unbounded is udpfront's bound for a Config's, whose zero value bounds nothing
// (udpfront's would bound at its default).
func unbounded(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
