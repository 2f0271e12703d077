package proxy

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/location"
)

// A branch that ends with 430 Flow Failed has the AOR's targets read again, once
// per transaction, and a branch sent to each target the search had not planned
// (RFC 5626 §5.3): a device whose binding moved while we forked is still
// reached. A caller never gets 430 (RFC 5626 §11.5): 480 when nothing is left.

const (
	movedContact = "sip:1001@desk-phone.nat.invalid:5060;transport=tcp"
	holderDest   = "10.0.0.2:5060"     // the replica status names as the holder
	movedDest    = "203.0.113.9:40001" // the device's new connection, here
)

// relayedHop is the hop to movedContact through the holder, signed with sig.
func relayedHop(sig string) hop {
	var u sip.Uri
	_ = sip.ParseUri(movedContact, &u)
	return hop{URI: u, Dest: holderDest, Transport: transportTCP,
		Route: []string{"sip:1001%40acme.example@" + holderDest + ";transport=tcp;lr;ob;sig=" + sig}}
}

// localHop is the hop to a target reached at dest over transport, of q.
func localHop(uri, dest, transport string, q location.Q) hop {
	var u sip.Uri
	_ = sip.ParseUri(uri, &u)
	return hop{URI: u, Dest: dest, Transport: transport, Q: q}
}

func TestAFailedFlowIsReplacedByTheTargetFoundSince(t *testing.T) {
	for _, tc := range []struct {
		name string
		// found is what the targets read again hold; answers is each
		// destination's final status.
		found    []hop
		answers  map[string]int
		want     int
		wantSent []string
	}{
		{"the device moved here: reached", []hop{relayedHop("2"), localHop(movedContact, movedDest, transportTCP, 0)},
			map[string]int{holderDest: StatusFlowFailed, movedDest: sip.StatusOK}, sip.StatusOK, []string{holderDest, movedDest}},
		{"the device is gone: 480, and the holder is not tried again", []hop{relayedHop("2")},
			map[string]int{holderDest: StatusFlowFailed}, sip.StatusTemporarilyUnavailable, []string{holderDest}},
		{"nothing registered any more: 480", nil,
			map[string]int{holderDest: StatusFlowFailed}, sip.StatusTemporarilyUnavailable, []string{holderDest}},
		{"the new flow fails too: no second reading, 480", []hop{localHop(movedContact, movedDest, transportTCP, 0)},
			map[string]int{holderDest: StatusFlowFailed, movedDest: StatusFlowFailed}, sip.StatusTemporarilyUnavailable,
			[]string{holderDest, movedDest}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txs := newScriptedRequester(tc.answers)
			c, caller := scriptedCall(t, txs)
			reads := 0
			c.retarget = func() []hop { reads++; return tc.found }
			c.run([]hop{relayedHop("1")})
			if got := caller.final(t); got.StatusCode != tc.want {
				t.Errorf("the caller got %d %s, want %d", got.StatusCode, got.Reason, tc.want)
			}
			if reads != 1 {
				t.Errorf("the targets were read again %d times, want once", reads)
			}
			if got := txs.sentTo(); !slices.Equal(got, tc.wantSent) {
				t.Errorf("sent to %v, want %v", got, tc.wantSent)
			}
		})
	}
}

// The replica holding a flow another replica relayed to acts as its edge proxy:
// its 430 goes back as is, for the relaying replica to try the AOR's other
// targets, and it reads no targets itself.
func TestTheHolderPassesA430BackToTheRelayingReplica(t *testing.T) {
	txs := newScriptedRequester(map[string]int{movedDest: StatusFlowFailed})
	c, caller := scriptedCall(t, txs)
	c.edge = true
	c.run([]hop{localHop(movedContact, movedDest, transportTCP, 0)})
	if got := caller.final(t); got.StatusCode != StatusFlowFailed {
		t.Errorf("the relaying replica got %d %s, want 430", got.StatusCode, got.Reason)
	}
}

// A 430 made up from the targets just read (a local flow already gone) spends no
// re-read, which would find the same: the one a real 430 gets later finds the
// device that moved meanwhile.
func TestAMadeUpFlowFailureSpendsNoReread(t *testing.T) {
	high, low := location.QOf(1000), location.QOf(500)
	txs := newScriptedRequester(map[string]int{movedDest: sip.StatusOK})
	hold := txs.hold(holderDest)
	c, caller := scriptedCall(t, txs)
	gone := localHop("sip:1001@198.51.100.7:5060;transport=tcp", "198.51.100.7:5060", transportTCP, high)
	gone.Fail = StatusFlowFailed
	relayed := relayedHop("1")
	relayed.Q = low
	var moved atomic.Bool
	reads := 0
	c.retarget = func() []hop {
		reads++
		if !moved.Load() {
			return []hop{gone, relayed}
		}
		return []hop{relayed, localHop(movedContact, movedDest, transportTCP, low)}
	}
	done := make(chan struct{})
	go func() { defer close(done); c.run([]hop{gone, relayed}) }()
	// The q=1 group (the gone flow) is over before the relayed branch is sent.
	txs.waitSent(t, holderDest)
	moved.Store(true)
	hold <- StatusFlowFailed
	<-done
	if got := caller.final(t); got.StatusCode != sip.StatusOK {
		t.Errorf("the caller got %d %s, want the moved device's 200", got.StatusCode, got.Reason)
	}
	if reads != 1 {
		t.Errorf("the targets were read again %d times, want once", reads)
	}
}

// The holder that cannot send over the flow it was relayed to (the connection
// failed as it sent) answers the relaying replica 430, not 500: that replica
// then tries the AOR's other targets.
func TestTheHolderAnswers430WhenTheFlowFailsAsItSends(t *testing.T) {
	txs := newScriptedRequester(map[string]int{movedDest: refuse})
	c, caller := scriptedCall(t, txs)
	c.edge = true
	c.run([]hop{localHop(movedContact, movedDest, transportTCP, 0)})
	if got := caller.final(t); got.StatusCode != StatusFlowFailed {
		t.Errorf("the relaying replica got %d %s, want 430", got.StatusCode, got.Reason)
	}
}

// A target found on reading again rings at once when its q is that of the
// failed branch (it takes its place), and waits for its group otherwise; a
// device of the ringing group that answers 486 is what the caller hears, not
// the 430.
func TestATargetFoundSinceRingsInItsOwnGroup(t *testing.T) {
	const (
		ringing = "192.0.2.10:5060" // q=1, answers when the test says
		lower   = "192.0.2.20:5060" // q=0.5, planned from the start
		newLow  = "192.0.2.21:5060" // q=0.5, found on reading again
	)
	high, low := location.QOf(1000), location.QOf(500)
	txs := newScriptedRequester(map[string]int{holderDest: StatusFlowFailed, movedDest: sip.StatusBusyHere,
		lower: sip.StatusBusyHere, newLow: sip.StatusBusyHere})
	hold := txs.hold(ringing)
	c, caller := scriptedCall(t, txs)
	failed := relayedHop("1")
	failed.Q = high
	moved := localHop(movedContact, movedDest, transportTCP, high)
	c.retarget = func() []hop {
		return []hop{failed, localHop("sip:1001@192.0.2.10", ringing, transportUDP, high), moved,
			localHop("sip:1001@192.0.2.20", lower, transportUDP, low), localHop("sip:1001@192.0.2.21", newLow, transportUDP, low)}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run([]hop{failed, localHop("sip:1001@192.0.2.10", ringing, transportUDP, high), localHop("sip:1001@192.0.2.20", lower, transportUDP, low)})
	}()
	txs.waitSent(t, movedDest)
	if sent := txs.sentTo(); slices.Contains(sent, newLow) || slices.Contains(sent, lower) {
		t.Errorf("sent to %v while q=1 rings, want no q=0.5 target yet", sent)
	}
	hold <- sip.StatusBusyHere
	<-done
	sent := txs.sentTo()
	if !slices.Contains(sent, lower) || !slices.Contains(sent, newLow) {
		t.Errorf("sent to %v, want the q=0.5 targets once q=1 failed", sent)
	}
	if got := caller.final(t); got.StatusCode != sip.StatusBusyHere {
		t.Errorf("the caller got %d %s, want 486", got.StatusCode, got.Reason)
	}
}

// scriptedCall is a MESSAGE's call through a proxy that sends with txs, and
// the server transaction it answers the caller in.
func scriptedCall(t *testing.T, txs *scriptedRequester) (*call, *recordingServerTx) {
	t.Helper()
	p := New(Config{Transactions: txs, Self: &Self{Host: "10.0.0.1", UDPPort: 5060, TCPPort: 5060}, Log: logr.Discard()})
	req := request(t, "MESSAGE", "c1", "sip:caller@example.org", "")
	caller := &recordingServerTx{done: make(chan struct{})}
	return p.newCall(req, caller, 69, "h", false), caller
}

// refuse, as a scripted answer, fails the request as a closed connection does;
// silent ends its client transaction without a response, as Timer F does.
const (
	refuse = -1
	silent = -2
)

// scriptedRequester answers each request with the final status scripted for
// its destination, at once, or when the test sends it for a held destination.
type scriptedRequester struct {
	mu      sync.Mutex
	answers map[string]int
	held    map[string]chan int
	sent    []string
	reqs    []*sip.Request // as sent, in the order of sent
	notify  chan string
}

func newScriptedRequester(answers map[string]int) *scriptedRequester {
	return &scriptedRequester{answers: answers, held: map[string]chan int{}, notify: make(chan string, 16)}
}

// hold makes requests to dest wait for the status sent on the channel.
func (s *scriptedRequester) hold(dest string) chan<- int {
	ch := make(chan int, 1)
	s.mu.Lock()
	s.held[dest] = ch
	s.mu.Unlock()
	return ch
}

func (s *scriptedRequester) Request(_ context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	dest := req.Destination()
	s.mu.Lock()
	s.sent = append(s.sent, dest)
	s.reqs = append(s.reqs, req)
	code, held := s.answers[dest], s.held[dest]
	s.mu.Unlock()
	s.notify <- dest
	if code == refuse {
		return nil, errors.New("connection refused")
	}
	tx := &scriptedTx{res: make(chan *sip.Response, 1), done: make(chan struct{})}
	answer := func(code int) { tx.res <- sip.NewResponseFromRequest(req, code, "", nil) }
	switch {
	case held != nil:
		go func() { answer(<-held) }()
	case code == silent:
		tx.Terminate()
	default:
		answer(code)
	}
	return tx, nil
}

func (s *scriptedRequester) sentTo() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

// requests are the requests sent so far.
func (s *scriptedRequester) requests() []*sip.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*sip.Request(nil), s.reqs...)
}

// waitSent waits until a request went to dest.
func (s *scriptedRequester) waitSent(t *testing.T, dest string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case d := <-s.notify:
			if d == dest {
				return
			}
		case <-deadline:
			t.Fatalf("nothing sent to %s; sent to %v", dest, s.sentTo())
		}
	}
}

type scriptedTx struct {
	res  chan *sip.Response
	done chan struct{}
	once sync.Once
}

func (x *scriptedTx) Terminate()                             { x.once.Do(func() { close(x.done) }) }
func (x *scriptedTx) OnTerminate(sip.FnTxTerminate) bool     { return false }
func (x *scriptedTx) Done() <-chan struct{}                  { return x.done }
func (x *scriptedTx) Err() error                             { return nil }
func (x *scriptedTx) Responses() <-chan *sip.Response        { return x.res }
func (x *scriptedTx) OnRetransmission(sip.FnTxResponse) bool { return true }

// recordingServerTx keeps what the proxy answers the caller.
type recordingServerTx struct {
	mu        sync.Mutex
	responses []*sip.Response
	done      chan struct{}
}

func (x *recordingServerTx) Respond(res *sip.Response) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.responses = append(x.responses, res)
	return nil
}

// all is every response the caller got.
func (x *recordingServerTx) all() []*sip.Response {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]*sip.Response(nil), x.responses...)
}

// final is the one final response the caller got.
func (x *recordingServerTx) final(t *testing.T) *sip.Response {
	t.Helper()
	x.mu.Lock()
	defer x.mu.Unlock()
	var finals []*sip.Response
	for _, r := range x.responses {
		if !r.IsProvisional() {
			finals = append(finals, r)
		}
	}
	if len(finals) != 1 {
		t.Fatalf("the caller got %d final responses, want 1", len(finals))
	}
	return finals[0]
}

func (x *recordingServerTx) Acks() <-chan *sip.Request          { return nil }
func (x *recordingServerTx) OnCancel(sip.FnTxCancel) bool       { return true }
func (x *recordingServerTx) Terminate()                         {}
func (x *recordingServerTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (x *recordingServerTx) Done() <-chan struct{}              { return x.done }
func (x *recordingServerTx) Err() error                         { return nil }
