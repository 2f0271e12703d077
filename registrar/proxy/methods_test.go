package proxy

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/api/published"
	"github.com/voipbin/registrar-operator/registrar/directory"
	"github.com/voipbin/registrar-operator/registrar/location"
)

const (
	methodsDomain = "acme.example"
	// deviceDest is where 1001's only device registered from, over UDP; 1002
	// exists but has none.
	deviceDest = "192.0.2.1:5060"
)

// routedObserver keeps the method label and outcome of each request counted.
type routedObserver struct {
	nopObserver
	mu     sync.Mutex
	routed []string
}

func (o *routedObserver) Routed(method, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.routed = append(o.routed, method+" "+outcome)
}

func (o *routedObserver) counted() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.routed)
}

// methodsProxy is a proxy for methodsDomain that record-routes, routes the
// methods routed (nil: the default) and sends with txs, and what it counts.
func methodsProxy(t *testing.T, txs *scriptedRequester, routed []string) (*Proxy, *routedObserver) {
	t.Helper()
	now := time.Now()
	dom := directory.NewDomain(published.DomainConfig{Domain: methodsDomain, Realm: methodsDomain})
	dir := &directory.Static{
		Domains: map[string]*directory.Domain{methodsDomain: dom},
		Credentials: map[string]*directory.Credential{
			"1001@" + methodsDomain: {Extension: "1001", Domain: methodsDomain, AOR: "1001@" + methodsDomain},
			"1002@" + methodsDomain: {Extension: "1002", Domain: methodsDomain, AOR: "1002@" + methodsDomain},
		},
	}
	table := location.New(1, nil)
	if _, err := table.Register(location.Request{AOR: "1001@" + methodsDomain, CallID: "reg", CSeq: 1, Expires: 600, Now: now,
		Source: deviceDest, Transport: "UDP",
		Contacts: []location.ContactUpdate{{URI: "sip:1001@192.0.2.1", Expires: -1}}}, dom.Policy); err != nil {
		t.Fatal(err)
	}
	obs := &routedObserver{}
	p := New(Config{Transactions: txs, Directory: dir, RecordRoute: true, RoutedMethods: routed, Observer: obs, Log: logr.Discard(),
		Targets: &Targets{Directory: dir, Table: table, Extensions: fakeExtensions{}, Replica: "self"},
		Self:    &Self{Host: "10.0.0.1", UDPPort: 5060, TCPPort: 5060, Serves: func(h string) bool { return h == methodsDomain }}})
	return p, obs
}

// everyMethod routes every method to an extension, as --routed-methods=* does.
var everyMethod = []string{AllMethods}

// outOfDialog is a request of method from a caller of another domain to uri,
// with extra header lines, as it arrives over UDP.
func outOfDialog(t *testing.T, method, uri string, extra ...string) *sip.Request {
	t.Helper()
	lines := ""
	for _, l := range extra {
		lines += l + "\n"
	}
	req := parse(t, method+" "+uri+" SIP/2.0\n"+lines+
		"Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK-caller\nFrom: <sip:alice@example.org>;tag=a1\nTo: <"+uri+">\n"+
		"Call-ID: c1\nCSeq: 1 "+method+"\nContact: <sip:alice@192.0.2.7:5060>\nMax-Forwards: 70\nContent-Length: 0\n\n")
	req.SetSource("192.0.2.7:5060")
	req.SetTransport("UDP")
	return req
}

// allowOf lists the methods of res's Allow header.
func allowOf(res *sip.Response) []string {
	h := res.GetHeader("Allow")
	if h == nil {
		return nil
	}
	var methods []string
	for m := range strings.SplitSeq(h.Value(), ",") {
		methods = append(methods, strings.TrimSpace(m))
	}
	return methods
}

// Every method the registrar's Allow names reaches the AOR's device (RFC 3261
// §16: a proxy routes by Request-URI, whatever the method), as does a method
// it has never heard of; the device's answer reaches the caller, and only the
// requests that set up a dialog carry our Record-Route. REGISTER is the
// registrar's, ACK is never answered and CANCEL cancels a transaction: those
// are not sent to an AOR.
func TestEveryMethodTheRegistrarAllowsReachesTheAOR(t *testing.T) {
	p, _ := methodsProxy(t, newScriptedRequester(nil), everyMethod)
	options := &recordingServerTx{done: make(chan struct{})}
	p.OnRequest(outOfDialog(t, "OPTIONS", "sip:"+methodsDomain), options)
	allow := allowOf(options.final(t))
	for _, want := range []string{"REGISTER", "OPTIONS", "INVITE", "MESSAGE", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH"} {
		if !slices.Contains(allow, want) {
			t.Errorf("Allow %v of the registrar does not name %s", allow, want)
		}
	}
	for _, method := range append(allow, "FOO") {
		if method == "REGISTER" || method == "ACK" || method == "CANCEL" {
			continue
		}
		t.Run(method, func(t *testing.T) {
			txs := newScriptedRequester(map[string]int{deviceDest: sip.StatusOK})
			p, obs := methodsProxy(t, txs, everyMethod)
			caller := &recordingServerTx{done: make(chan struct{})}
			p.OnRequest(outOfDialog(t, method, "sip:1001@"+methodsDomain), caller)
			if got := caller.final(t); got.StatusCode != sip.StatusOK {
				t.Fatalf("the caller got %d %s, want the device's 200", got.StatusCode, got.Reason)
			}
			sent := txs.requests()
			if len(sent) != 1 || sent[0].Method.String() != method || sent[0].Destination() != deviceDest {
				t.Fatalf("sent %v to %v, want one %s to the device", sent, txs.sentTo(), method)
			}
			wantRR := method == "INVITE" || method == "SUBSCRIBE" || method == "REFER"
			if rr := sent[0].RecordRoute(); (rr != nil) != wantRR {
				t.Errorf("Record-Route %v, want one: %v", rr, wantRR)
			}
			label := method
			if method == "FOO" {
				label = methodOther
			}
			if got := obs.counted(); !slices.Equal(got, []string{label + " " + OutcomeAnswered}) {
				t.Errorf("counted %v, want %s %s", got, label, OutcomeAnswered)
			}
		})
	}
}

// A SUBSCRIBE (or any method) for an extension without a device gets what an
// INVITE gets: 480 for one that exists, 404 for one that does not; nothing is
// sent.
func TestAnAORWithoutDevicesAnswersEveryMethodAlike(t *testing.T) {
	for _, tc := range []struct {
		method, user string
		want         int
		outcome      string
	}{
		{"SUBSCRIBE", "1002", sip.StatusTemporarilyUnavailable, OutcomeUnavailable},
		{"SUBSCRIBE", "9999", sip.StatusNotFound, OutcomeNotFound},
		{"REFER", "1002", sip.StatusTemporarilyUnavailable, OutcomeUnavailable},
		{"NOTIFY", "9999", sip.StatusNotFound, OutcomeNotFound},
	} {
		t.Run(tc.method+" "+tc.user, func(t *testing.T) {
			txs := newScriptedRequester(nil)
			p, obs := methodsProxy(t, txs, everyMethod)
			caller := &recordingServerTx{done: make(chan struct{})}
			p.OnRequest(outOfDialog(t, tc.method, "sip:"+tc.user+"@"+methodsDomain), caller)
			if got := caller.final(t); got.StatusCode != tc.want {
				t.Errorf("the caller got %d %s, want %d", got.StatusCode, got.Reason, tc.want)
			}
			if sent := txs.sentTo(); len(sent) != 0 {
				t.Errorf("sent to %v, want nowhere", sent)
			}
			if got := obs.counted(); !slices.Equal(got, []string{tc.method + " " + tc.outcome}) {
				t.Errorf("counted %v, want %s %s", got, tc.method, tc.outcome)
			}
		})
	}
}

// A 405 lists in Allow what is allowed (RFC 3261 §21.4.6), never the method it
// refuses: a REGISTER that reaches the proxy (it is the registrar's own) is
// refused so, and goes nowhere.
func TestA405NeverAllowsTheMethodItRefuses(t *testing.T) {
	txs := newScriptedRequester(nil)
	p, obs := methodsProxy(t, txs, everyMethod)
	for _, refused := range allowed {
		got := strings.Split(p.allowExcept(refused), ", ")
		if slices.Contains(got, refused.String()) || len(got) != len(allowed)-1 {
			t.Errorf("Allow refusing %s: %v", refused, got)
		}
	}
	caller := &recordingServerTx{done: make(chan struct{})}
	p.OnRequest(outOfDialog(t, "REGISTER", "sip:1001@"+methodsDomain), caller)
	res := caller.final(t)
	if res.StatusCode != sip.StatusMethodNotAllowed {
		t.Fatalf("a REGISTER at the proxy got %d %s, want 405", res.StatusCode, res.Reason)
	}
	if allow := allowOf(res); len(allow) == 0 || slices.Contains(allow, "REGISTER") {
		t.Errorf("Allow %v, want the methods we take but REGISTER", allow)
	}
	if sent := txs.sentTo(); len(sent) != 0 {
		t.Errorf("sent to %v, want nowhere", sent)
	}
	if got := obs.counted(); !slices.Equal(got, []string{"REGISTER " + OutcomeNotAllowed}) {
		t.Errorf("counted %v, want REGISTER %s", got, OutcomeNotAllowed)
	}
}

// Our Record-Route goes into the initial requests that set up a dialog (INVITE,
// SUBSCRIBE, REFER), and into a NOTIFY in a dialog (RFC 6665 §4.3); into
// nothing when record-routing is off.
func TestRecordRoutesTheRequestsThatSetUpDialogs(t *testing.T) {
	for _, tc := range []struct {
		method  string
		inDlg   bool
		off     bool
		wantRR  bool
		comment string
	}{
		{"INVITE", false, false, true, ""},
		{"SUBSCRIBE", false, false, true, ""},
		{"REFER", false, false, true, ""},
		{"MESSAGE", false, false, false, ""},
		{"OPTIONS", false, false, false, ""},
		{"PUBLISH", false, false, false, ""},
		{"NOTIFY", false, false, false, "an unsolicited NOTIFY sets up no dialog"},
		{"NOTIFY", true, false, true, ""},
		{"BYE", true, false, false, ""},
		{"INVITE", true, false, false, "a re-INVITE changes no route set"},
		{"SUBSCRIBE", false, true, false, "record-routing off"},
		{"NOTIFY", true, true, false, "record-routing off"},
	} {
		req := outOfDialog(t, tc.method, "sip:1001@"+methodsDomain)
		if tc.inDlg {
			req.To().Params.Add("tag", "b1")
		}
		p := &Proxy{recordRoute: !tc.off}
		if got := p.recordRoutes(req); got != tc.wantRR {
			t.Errorf("%s (in a dialog: %v, off: %v) %s: record-routed %v, want %v", tc.method, tc.inDlg, tc.off, tc.comment, got, tc.wantRR)
		}
	}
}

// A device's NOTIFY in a dialog, along the Record-Route we put into the
// SUBSCRIBE, reaches the subscriber's Contact with our Record-Route again, so
// that a NOTIFY that sets up the subscriber's dialog (before the 200, or from a
// fork) gives it the same route set (RFC 6665 §4.3); a BYE takes none.
func TestANotifyInADialogIsRecordRouted(t *testing.T) {
	for _, method := range []string{"NOTIFY", "BYE"} {
		t.Run(method, func(t *testing.T) {
			const subscriber = "192.0.2.7:5060"
			txs := newScriptedRequester(map[string]int{subscriber: sip.StatusOK})
			p, _ := methodsProxy(t, txs, everyMethod)
			req := parse(t, method+" sip:alice@"+subscriber+" SIP/2.0\n"+
				"Route: <sip:10.0.0.1:5060;transport=udp;lr>\n"+
				"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-device\nFrom: <sip:1001@"+methodsDomain+">;tag=b1\n"+
				"To: <sip:alice@example.org>;tag=a1\nCall-ID: c1\nCSeq: 1 "+method+"\nMax-Forwards: 70\nContent-Length: 0\n\n")
			req.SetSource(deviceDest)
			req.SetTransport("UDP")
			caller := &recordingServerTx{done: make(chan struct{})}
			p.OnRequest(req, caller)
			if got := caller.final(t); got.StatusCode != sip.StatusOK {
				t.Fatalf("the device got %d %s, want the subscriber's 200", got.StatusCode, got.Reason)
			}
			sent := txs.requests()
			if len(sent) != 1 || sent[0].Destination() != subscriber {
				t.Fatalf("sent to %v, want the subscriber", txs.sentTo())
			}
			rr := sent[0].RecordRoute()
			if want := method == "NOTIFY"; (rr != nil) != want {
				t.Errorf("Record-Route %v, want one: %v", rr, want)
			}
			if rr != nil && rr.Address.Host != "10.0.0.1" {
				t.Errorf("Record-Route %v, want ours", rr)
			}
		})
	}
}

// Metrics label a method by name when the registrar knows it, else as "other":
// callers cannot grow the label set with made-up methods.
func TestMethodLabelIsBounded(t *testing.T) {
	for m, want := range map[sip.RequestMethod]string{
		sip.SUBSCRIBE: "SUBSCRIBE", sip.PUBLISH: "PUBLISH", sip.REGISTER: "REGISTER",
		"FOO": methodOther, "X-A-VERY-LONG-MADE-UP-METHOD": methodOther,
	} {
		if got := methodLabel(m); got != want {
			t.Errorf("label of %s = %q, want %q", m, got, want)
		}
	}
}

// By default only calls, messages and capability queries reach an extension out
// of a dialog: an unsolicited NOTIFY (Event: check-sync reboots many desk
// phones), a REFER (it makes many place a call as the extension), a SUBSCRIBE
// or a PUBLISH from anyone who can reach the Service is refused 405, its Allow
// naming neither it nor the others refused, and nothing is sent to the device;
// on a route pre-loaded through us to the device's own Contact too. Naming a
// method routes it.
func TestOnlyTheRoutedMethodsReachAnExtension(t *testing.T) {
	for _, method := range []string{"NOTIFY", "REFER", "SUBSCRIBE", "PUBLISH", "FOO"} {
		for _, how := range []string{"to the AOR", "on a pre-loaded route"} {
			t.Run(method+" "+how, func(t *testing.T) {
				txs := newScriptedRequester(map[string]int{deviceDest: sip.StatusOK})
				p, obs := methodsProxy(t, txs, nil)
				req := outOfDialog(t, method, "sip:1001@"+methodsDomain)
				if how == "on a pre-loaded route" {
					req = outOfDialog(t, method, "sip:1001@192.0.2.1", "Route: <sip:10.0.0.1:5060;lr>")
				}
				caller := &recordingServerTx{done: make(chan struct{})}
				p.OnRequest(req, caller)
				res := caller.final(t)
				if res.StatusCode != sip.StatusMethodNotAllowed {
					t.Fatalf("the caller got %d %s, want 405", res.StatusCode, res.Reason)
				}
				allow := allowOf(res)
				for _, refused := range []string{"NOTIFY", "REFER", "SUBSCRIBE", "PUBLISH"} {
					if slices.Contains(allow, refused) {
						t.Errorf("Allow %v names %s, which is refused", allow, refused)
					}
				}
				for _, taken := range DefaultRoutedMethods {
					if !slices.Contains(allow, taken) {
						t.Errorf("Allow %v does not name %s", allow, taken)
					}
				}
				if sent := txs.sentTo(); len(sent) != 0 {
					t.Errorf("sent to %v, want nowhere", sent)
				}
				if got := obs.counted(); len(got) != 1 || !strings.HasSuffix(got[0], " "+OutcomeNotAllowed) {
					t.Errorf("counted %v, want %s", got, OutcomeNotAllowed)
				}
			})
		}
	}
	txs := newScriptedRequester(map[string]int{deviceDest: sip.StatusOK})
	p, _ := methodsProxy(t, txs, []string{"INVITE", "SUBSCRIBE"})
	caller := &recordingServerTx{done: make(chan struct{})}
	p.OnRequest(outOfDialog(t, "SUBSCRIBE", "sip:1001@"+methodsDomain), caller)
	if got := caller.final(t); got.StatusCode != sip.StatusOK {
		t.Errorf("with SUBSCRIBE routed, the subscriber got %d %s, want the device's 200", got.StatusCode, got.Reason)
	}
}

func TestParseRoutedMethods(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		bad  string // in the error
	}{
		{"INVITE,MESSAGE,OPTIONS", []string{"INVITE", "MESSAGE", "OPTIONS"}, ""},
		{" invite , subscribe ", []string{"INVITE", "SUBSCRIBE"}, ""},
		{"*", []string{"*"}, ""},
		{"INVITE,*", nil, "stands alone"},
		{"INVITE,REGISTER", nil, "REGISTER is not routed"},
		{"ACK", nil, "ACK is not routed"},
		{"IN VITE", nil, "no SIP method name"},
		{" , ", nil, "at least one"},
	} {
		got, err := ParseRoutedMethods(tc.in)
		switch {
		case tc.bad == "" && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("ParseRoutedMethods(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("ParseRoutedMethods(%q) = %v, %v; want an error saying %q", tc.in, got, err, tc.bad)
		}
	}
}
