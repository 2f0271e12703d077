package registrar_test

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// A proxy routes by Request-URI whatever the method (RFC 3261 §16): with
// --routed-methods naming them (the shared replicas route every method), a
// subscription (presence, or dialog for a busy lamp field), a REFER or an
// unsolicited NOTIFY reaches an extension's devices as a call does. By default
// only calls, messages and OPTIONS do.

// A SUBSCRIBE for a registered extension reaches its device with our
// Record-Route, and the device's 200 the subscriber; the device's NOTIFY,
// along the route set the SUBSCRIBE gave it, reaches the subscriber, whose 200
// comes back; the subscriber's un-SUBSCRIBE, along the route set of the 200,
// reaches the device. Over UDP, and for a desk phone on TCP behind a NAT that
// only the replica holding its connection reaches, subscribed to through the
// other replica.
func TestProxySubscriptionThroughTheRegistrar(t *testing.T) {
	t.Run("a device over UDP", func(t *testing.T) {
		tn := newTenant(t, "1001")
		dev := newDevice(t, tn, replicaA, false)
		routable(t, replicaA, tn, 1)
		subscription(t, newCaller(t, replicaA), dev, tn, addressOf(replicaA))
	})
	t.Run("a desk phone over TCP, through the other replica", func(t *testing.T) {
		tn := newTenant(t, "1001")
		dev := deskPhone(t, tn, replicaA)
		relaysThrough(t, tn, "replica-a")
		routable(t, replicaB, tn, 1)
		_, holder := replicaA.Addresses()
		subscription(t, newCaller(t, replicaB), dev, tn, holder)
	})
}

// subscription has caller subscribe to the dialog state of tn's extension,
// whose device dev is reached from the replica at holder (host:port over dev's
// transport), and checks each request and answer of the subscription gets
// through.
func subscription(t *testing.T, caller, dev *siptest.Phone, tn *tenant, holder string) {
	t.Helper()
	const event = "Event: dialog"
	caller.Send(caller.Request(sip.SUBSCRIBE, "sip:"+tn.aor(), "", event, "Accept: application/dialog-info+xml", "Expires: 600"))
	sub := dev.Expect(sip.SUBSCRIBE)
	if rr := recordRoutes(sub.Request); len(rr) == 0 || !namesHost(rr[0], holder) {
		t.Errorf("the SUBSCRIBE's Record-Route %v, want the holder's %s on top", rr, holder)
	}
	res := dev.Response(sub.Request, sip.StatusOK, "OK")
	res.AppendHeader(sip.NewHeader("Expires", "600"))
	dev.SendResponse(res, sub.From)
	ok := caller.Final(wait)
	if ok.StatusCode != sip.StatusOK {
		t.Fatalf("the SUBSCRIBE got %d %s, want the device's 200", ok.StatusCode, ok.Reason)
	}

	notify := dev.FromCallee(sip.NOTIFY, sub, 1, event, "Subscription-State: active;expires=600", "Contact: "+dev.ContactValue())
	dev.Send(notify)
	got, err := caller.NextRequest(wait)
	if err != nil || got.Method != sip.NOTIFY || got.CallID().Value() != sub.CallID().Value() {
		t.Fatalf("the device's NOTIFY did not reach the subscriber: %v %v", got.Request, err)
	}
	// A NOTIFY may set up the subscriber's dialog (RFC 6665 §4.4.1): its
	// Record-Route must give the route set the 200 gives.
	if rr, want := recordRoutes(got.Request), reversed(recordRoutes(ok)); !slices.Equal(rr, want) {
		t.Errorf("the NOTIFY's Record-Route %v, want the 200's reversed, %v", rr, want)
	}
	caller.Reply(got, sip.StatusOK, "OK")
	if res := dev.Final(wait); res.StatusCode != sip.StatusOK {
		t.Fatalf("the device's NOTIFY got %d %s, want the subscriber's 200", res.StatusCode, res.Reason)
	}

	caller.Send(caller.InDialog(sip.SUBSCRIBE, ok, ok.CSeq().SeqNo+1, event, "Expires: 0"))
	unsub := dev.Expect(sip.SUBSCRIBE, sub)
	if !unsub.To().Params.Has("tag") || unsub.CallID().Value() != sub.CallID().Value() {
		t.Errorf("the device got a SUBSCRIBE outside the subscription: %s", unsub.Request)
	}
	dev.Answer(unsub, sip.StatusOK, "OK")
	if res := caller.Final(wait); res.StatusCode != sip.StatusOK {
		t.Errorf("the un-SUBSCRIBE got %d %s, want the device's 200", res.StatusCode, res.Reason)
	}
}

// A REFER outside a dialog (click-to-dial: "call 1002") reaches the device with
// our Record-Route, and its 202 the caller; the NOTIFY of the implicit
// subscription it sets up (RFC 3515 §2.4.4) comes back to the caller along it.
func TestProxyReferOutsideADialog(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := newCaller(t, replicaA)
	caller.Send(caller.Request(sip.REFER, "sip:"+tn.aor(), "", "Refer-To: <sip:1002@"+tn.domain+">"))
	ref := dev.Expect(sip.REFER)
	if rr := recordRoutes(ref.Request); len(rr) == 0 || !namesHost(rr[0], addressOf(replicaA)) {
		t.Errorf("the REFER's Record-Route %v, want the registrar's", rr)
	}
	dev.Answer(ref, sip.StatusAccepted, "Accepted")
	if res := caller.Final(wait); res.StatusCode != sip.StatusAccepted {
		t.Fatalf("the REFER got %d %s, want the device's 202", res.StatusCode, res.Reason)
	}
	dev.Send(dev.FromCallee(sip.NOTIFY, ref, 1, "Event: refer", "Subscription-State: active;expires=60", "Contact: "+dev.ContactValue()))
	got, err := caller.NextRequest(wait)
	if err != nil || got.Method != sip.NOTIFY {
		t.Fatalf("the device's NOTIFY did not reach the caller: %v %v", got.Request, err)
	}
	caller.Reply(got, sip.StatusOK, "OK")
	if res := dev.Final(wait); res.StatusCode != sip.StatusOK {
		t.Errorf("the device's NOTIFY got %d %s, want the caller's 200", res.StatusCode, res.Reason)
	}
}

// A SUBSCRIBE for an extension with no device registered gets 480, as an
// INVITE does, and one for no extension 404.
func TestProxySubscribeToAnExtensionWithoutDevices(t *testing.T) {
	tn := newTenant(t, "1001")
	caller := newCaller(t, replicaA)
	for _, tc := range []struct {
		user string
		want int
	}{{"1001", sip.StatusTemporarilyUnavailable}, {"1099", sip.StatusNotFound}} {
		caller.Send(caller.Request(sip.SUBSCRIBE, "sip:"+tc.user+"@"+tn.domain, "", "Event: presence"))
		if res := caller.Final(wait); res.StatusCode != tc.want {
			t.Errorf("SUBSCRIBE for %s: %d %s, want %d", tc.user, res.StatusCode, res.Reason, tc.want)
		}
	}
}

// The registrar's answer to OPTIONS names in Allow only methods it takes: each,
// sent to a registered extension, reaches its device, and the device's answer
// the caller; so does a method nobody defined (RFC 3261 §16). REGISTER the
// registrar answers itself; ACK and CANCEL belong to an INVITE.
func TestProxyAllowsOnlyWhatItTakes(t *testing.T) {
	tn := newTenant(t, "1001")
	dev := newDevice(t, tn, replicaA, false)
	routable(t, replicaA, tn, 1)
	caller := newCaller(t, replicaA)
	caller.Send(caller.Request(sip.OPTIONS, "sip:"+tn.domain, ""))
	res := caller.Final(wait)
	allow := allowOf(res)
	if res.StatusCode != sip.StatusOK || !slices.Contains(allow, "REGISTER") || !slices.Contains(allow, "SUBSCRIBE") {
		t.Fatalf("OPTIONS to the registrar: %d %s, Allow %v", res.StatusCode, res.Reason, allow)
	}
	methods := slices.DeleteFunc(allow, func(m string) bool { return m == "REGISTER" || m == "ACK" || m == "CANCEL" })
	methods = append(methods, "X-MADE-UP")
	// The INVITE last: the device's 486 draws an ACK.
	slices.SortStableFunc(methods, func(a, b string) int { return boolOrder(a == "INVITE", b == "INVITE") })
	var seen []siptest.Received
	for _, m := range methods {
		method := sip.RequestMethod(m)
		caller.Send(caller.Request(method, "sip:"+tn.aor(), ""))
		got := dev.Expect(method, seen...)
		seen = append(seen, got)
		code, reason := sip.StatusOK, "OK"
		if method == sip.INVITE {
			code, reason = sip.StatusBusyHere, "Busy Here"
		}
		dev.Answer(got, code, reason)
		if res := caller.Final(wait); res.StatusCode != code {
			t.Errorf("%s: the caller got %d %s, want the device's %d", m, res.StatusCode, res.Reason, code)
		}
	}
}

// boolOrder orders false before true.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// allowOf lists the methods of res's Allow header.
func allowOf(res *sip.Response) []string {
	var methods []string
	for m := range strings.SplitSeq(siptest.HeaderValue(res, "Allow"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			methods = append(methods, m)
		}
	}
	return methods
}

// namesHost reports whether the route entry (a name-addr) names hostport.
func namesHost(entry, hostport string) bool {
	var u sip.Uri
	if err := sip.ParseUri(strings.Trim(entry, "<>"), &u); err != nil {
		return false
	}
	host, port, err := net.SplitHostPort(hostport)
	return err == nil && u.Host == host && u.Port > 0 && port == strconv.Itoa(u.Port)
}

// reversed is s back to front.
func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// With the default --routed-methods, anyone who can reach the Service gets no
// further with a phone than a call, a message or an OPTIONS: an unsolicited
// NOTIFY (Event: check-sync reboots or reprovisions many desk phones) and a
// REFER (many phones then place the call asked for, as the extension) are
// refused 405 with an Allow that does not name them, and never reach the
// device, which gets the MESSAGE sent next and nothing before it.
func TestOnlyCallsAndMessagesReachAnExtensionByDefault(t *testing.T) {
	tn := newTenant(t, "1001")
	r := startExtraReplica(t, "replica-default-methods", "127.0.0.76", tn, func(c *registrar.Config) { c.RoutedMethods = nil })
	dev := newDevice(t, tn, r, false)
	routable(t, r, tn, 1)
	caller := newCaller(t, r)
	for _, attack := range []*sip.Request{
		caller.Request(sip.NOTIFY, "sip:1001@"+tn.domain, "", "Event: check-sync", "Subscription-State: terminated"),
		caller.Request(sip.REFER, "sip:1001@"+tn.domain, "", "Refer-To: <sip:+19005550100@carrier.example>"),
	} {
		caller.Send(attack)
		res := caller.Final(wait)
		if res.StatusCode != sip.StatusMethodNotAllowed {
			t.Fatalf("an outsider's %s got %d %s, want 405", attack.Method, res.StatusCode, res.Reason)
		}
		if allow := res.GetHeader("Allow"); allow == nil || strings.Contains(allow.Value(), attack.Method.String()) {
			t.Errorf("the 405 to %s has Allow %v, which must not name it", attack.Method, allow)
		}
	}
	caller.Send(caller.Request(sip.MESSAGE, "sip:1001@"+tn.domain, "hello"))
	got := dev.Expect(sip.MESSAGE) // fails on anything the device got before it
	if string(got.Request.Body()) != "hello" {
		t.Errorf("the device got a MESSAGE of %q", got.Request.Body())
	}
}
