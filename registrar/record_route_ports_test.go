package registrar_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/proxy"
)

// fleetBehindNodePorts starts two replicas as two pods behind a NodePort Service:
// each on an address of its own, both on the same listening port, with
// --record-route-host naming the nodes and --record-route-ports the Service's node
// ports, one for UDP and another for TCP, on which nothing listens. A request sent
// to one of those would reach nobody.
func fleetBehindNodePorts(t *testing.T, tn *tenant) (r1, r2 *registrar.Replica, nodePorts proxy.TransportPorts) {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	nodePorts = proxy.TransportPorts{UDP: freePort(t), TCP: freePort(t)}
	start := func(name, ip string) *registrar.Replica {
		return startExtraReplica(t, name, ip, tn, func(c *registrar.Config) {
			c.SIPAddress = net.JoinHostPort(ip, port)
			c.RecordRouteHost = fleetHost
			c.RecordRoutePorts = nodePorts
		})
	}
	return start("replica-nodeport-1", "127.0.0.92"), start("replica-nodeport-2", "127.0.0.93"), nodePorts
}

// nodePortRoute is the Record-Route entry of the fleet behind its node port for
// transport.
func nodePortRoute(port int, transport string) string {
	return "<sip:" + fleetHost + ":" + strconv.Itoa(port) + ";transport=" + transport + ";lr>"
}

// Behind a NodePort Service phones reach the fleet at the nodes' node ports, not at
// the registrar's listening port: with --record-route-ports a call's Record-Route
// names the node port, and an in-dialog request along it, which the Service hands
// to either replica at its listening port, is taken as the fleet's and reaches the
// other party, whichever side hangs up.
func TestRecordRoutePortsTakeTheBYEThroughTheNodePort(t *testing.T) {
	tn := newTenant(t, "1001")
	r1, r2, nodePorts := fleetBehindNodePorts(t, tn)
	callee := udpPhone(t, tn, "127.0.0.1", addressOf(r1))
	callee.MustRegister(600)
	routable(t, r1, tn, 1)
	routable(t, r2, tn, 1)
	want := nodePortRoute(nodePorts.UDP, "udp")

	hangUpEitherSide(t, r1, r2, callee, tn, want, "the node port")
}

// A call that crosses transports (a caller on UDP, a device on an outbound flow
// over TCP) is record-routed on each side (RFC 5658), each entry with the node
// port of its transport: the caller's route set starts at the UDP one, the
// device's at a TCP one (the flow's holder, which relays the call, adds its own).
// The caller's BYE along them, handed to the flow's holder, comes over the flow.
func TestRecordRoutePortsPerTransport(t *testing.T) {
	tn := newTenant(t, "1001")
	r1, r2, nodePorts := fleetBehindNodePorts(t, tn)
	_, tcp := r1.Addresses()
	p := flowPhone(t, tn, tcp, 1)
	p.MustRegister(600)
	routable(t, r2, tn, 1)
	caller := newCaller(t, r2)

	ok, _ := answeredCall(t, caller, p, tn)
	got := recordRoutes(ok)
	if len(got) < 2 {
		t.Fatalf("Record-Route of the caller's 200 = %v, want an entry for each side", got)
	}
	if callerSide := got[len(got)-1]; callerSide != nodePortRoute(nodePorts.UDP, "udp") {
		t.Errorf("the caller's side of Record-Route = %s, want %s", callerSide, nodePortRoute(nodePorts.UDP, "udp"))
	}
	for _, deviceSide := range got[:len(got)-1] {
		if deviceSide != nodePortRoute(nodePorts.TCP, "tcp") {
			t.Errorf("the device's side of Record-Route has %s, want %s", deviceSide, nodePortRoute(nodePorts.TCP, "tcp"))
		}
	}
	caller.Target = addressOf(r1)
	caller.Send(caller.InDialog(sip.BYE, ok, ok.CSeq().SeqNo+1))
	if req, err := receiveOK(p, wait); err != nil || req.Method != sip.BYE {
		t.Fatalf("the caller's BYE did not come over the flow: %v %v", req.Request, err)
	}
	if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
		t.Errorf("the caller's BYE got %d %s, want the device's 200", res.StatusCode, res.Reason)
	}
}

// A fleet serving UDP only (--transports=udp in the chart's extraArgs) handed the
// node ports of UDP and TCP (by an earlier operator, or by hand): the replicas
// start, with a warning, instead of refusing TCP's port and crash-looping through
// the rollout;
// Record-Route names UDP's node port, and a BYE back through it reaches the callee
// from either replica.
func TestRecordRoutePortsOfTransportsNotServedAreIgnored(t *testing.T) {
	tn := newTenant(t, "1001")
	port := strconv.Itoa(freePort(t))
	nodePorts := proxy.TransportPorts{UDP: freePort(t), TCP: freePort(t)}
	start := func(name, ip string) *registrar.Replica {
		return startExtraReplica(t, name, ip, tn, func(c *registrar.Config) {
			c.SIPAddress = net.JoinHostPort(ip, port)
			c.Transports = []string{"udp"}
			c.RecordRouteHost = fleetHost
			c.RecordRoutePorts = nodePorts
		})
	}
	r1, r2 := start("replica-udponly-1", "127.0.0.94"), start("replica-udponly-2", "127.0.0.95")
	if _, tcp := r1.Addresses(); tcp != "" {
		t.Fatalf("a replica with --transports=udp listens on TCP %s", tcp)
	}
	callee := udpPhone(t, tn, "127.0.0.1", addressOf(r1))
	callee.MustRegister(600)
	routable(t, r1, tn, 1)
	routable(t, r2, tn, 1)

	caller := newCaller(t, r1)
	ok, inv := answeredThrough(t, caller, callee, tn)
	if got, want := recordRoutes(ok), nodePortRoute(nodePorts.UDP, "udp"); len(got) != 1 || got[0] != want {
		t.Fatalf("Record-Route of the caller's 200 = %v, want %s", got, want)
	}
	caller.Target = addressOf(r2)
	bye := caller.InDialog(sip.BYE, ok, ok.CSeq().SeqNo+1)
	caller.Send(bye)
	callee.Reply(callee.Expect(sip.BYE, inv), sip.StatusOK, "OK")
	if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
		t.Errorf("the BYE through UDP's node port got %d %s, want the callee's 200", res.StatusCode, res.Reason)
	}
}
