// Package udpfront answers REGISTER over UDP without a transaction layer, and hands
// every other datagram to sipgo.
//
// A registrar answers a REGISTER at once and never sends a request of its own for
// it, so it may act as a stateless UAS (RFC 3261 §8.2.7). Going through sipgo's
// server transaction instead costs a goroutine, an FSM, timers and a map entry that
// UDP keeps for Timer J (32 s) per request: at thousands of registrations a second
// that is most of the CPU and hundreds of megabytes. The one thing a transaction
// gives a registrar, answering a retransmission with the response already sent, is
// kept by a bounded cache (retransmit.go).
//
// Under overload, a REGISTER without credentials that waited too long in the socket's
// queue is answered 503 instead of challenged, so the readers' time goes to the
// REGISTERs that complete a registration (admission.go); the 503 is built from the
// request's raw header lines, with no parse, so that shedding costs a fraction of a
// challenge (shed.go). The 503s are bounded per source address and for all sources;
// past that a shed REGISTER is dropped unanswered, at a fifteenth of a 503's cost
// (shed_budget.go).
//
// Each reader reads and answers on a descriptor of its own where the system allows
// (direct_linux.go), rather than queueing with the others on Go's lock of the
// listener's descriptor, and waits for datagrams in Go's poller. A reader takes every
// queued datagram, up to batchSlots, in one system call, and sends its answers in
// batches too (recvmmsg and sendmmsg, raw system calls that do not wake the runtime's
// sysmon thread): one wake-up per batch rather than per datagram. (Letting one reader
// at a time wait, so that a datagram wakes one reader rather than each, cost more CPU
// at 4,000 registrations/s than it saved, and made any stall of that reader a stall
// of all reading: hack/bench/results/2026-12-04d.)
package udpfront

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"

	"github.com/voipbin/registrar-operator/registrar/digest"
	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
)

// maxDatagram is the largest UDP payload; a longer one cannot arrive.
const maxDatagram = 65535

// Observer receives what the front end counts (Prometheus in production).
type Observer interface {
	// Retransmission counts a retransmitted REGISTER answered from the cache, or
	// reconfirmed (Config.Reconfirm).
	Retransmission()
	// Dropped counts a datagram for sipgo dropped because sipgo was not reading.
	Dropped()
}

// ShedObserver is an Observer that also counts the REGISTERs shed under overload.
type ShedObserver interface {
	// Shed counts a REGISTER without credentials answered 503 because the waits in
	// the receive queue stood past Config.ShedAge, or it found the queue crowded.
	Shed()
	// ShedUnanswered counts one shed but dropped unanswered: its source, or all
	// sources, had had their 503s for the second (Config.SourceRefusals, Refusals).
	ShedUnanswered()
}

// WaitObserver is an Observer that also sees how long each REGISTER waited in the
// socket's receive queue before a reader took it: known only with the kernel's
// arrival stamps, it tells whether the readers keep up well before anything is shed.
type WaitObserver interface {
	QueueWait(time.Duration)
}

type nopObserver struct{}

func (nopObserver) Retransmission() {}
func (nopObserver) Dropped()        {}
func (nopObserver) Shed()           {}
func (nopObserver) ShedUnanswered() {}

// Config is the front end's wiring.
type Config struct {
	// Conn is the UDP listener. The front end reads it; sipgo must not.
	Conn *net.UDPConn
	// Handle answers one REGISTER that came in a datagram of datagramLen bytes (the
	// REGISTER handler's HandleDatagram, which sizes its 200 OK for UDP by it); it
	// does no I/O.
	Handle func(req *sip.Request, datagramLen int) *sip.Response
	// Reconfirm answers a retransmission of a credentialed REGISTER that Handle
	// answered 200 OK, once the retransmission cache no longer holds that answer (the
	// REGISTER handler's Reconfirm: 200 OK with the bindings as they are now, nothing
	// applied again). nil: such a retransmission goes to Handle, which refuses its
	// spent nonce count.
	Reconfirm func(req *sip.Request, datagramLen int) *sip.Response
	// Readers is how many goroutines read and answer (default GOMAXPROCS).
	Readers int
	// Backlog is how many datagrams for sipgo may wait before more are dropped,
	// as a full socket buffer would (default 4096).
	Backlog int
	// SharedSocket keeps every reader on the listener through Go's poller, as on
	// systems other than Linux, instead of a descriptor per reader (for tests).
	SharedSocket bool
	// Retransmissions bounds the retransmission cache (default DefaultCacheSize).
	Retransmissions int
	// ShedAge is how long the REGISTERs may keep having waited in the socket's
	// receive queue before those without credentials are answered 503 instead of a
	// challenge: once every one read for ShedAge waited longer, or at once past five
	// times it (admission.go). 0: DefaultShedAge; negative: none is shed.
	ShedAge time.Duration
	// SourceRefusals and Refusals bound how many shed REGISTERs a second get a 503,
	// from one source address and from all sources; the others are dropped
	// unanswered, which costs a flood's source far less than a 503 each
	// (shed_budget.go). 0: DefaultSourceRefusals and DefaultRefusals; negative: no
	// bound.
	SourceRefusals, Refusals int
	// LateAfter is how long a REGISTER may wait in the receive queue before
	// Waits counts it late (0: DefaultLateAfter).
	LateAfter time.Duration
	Observer  Observer
	Log       logr.Logger
	// now is the clock datagrams' ages are taken on (tests move it); nil: time.Now.
	now func() time.Time
}

// Front reads the UDP listener.
type Front struct {
	cfg   Config
	cache *responseCache
	// accepted remembers the credentialed REGISTERs answered 200 OK for longer than
	// the cache can keep their answers (accepted.go); nil without Reconfirm.
	accepted *acceptedSet
	rest     *passThrough
	shed     ShedObserver
	// waitObserver, if the Observer is one, sees each REGISTER's wait in the queue.
	waitObserver WaitObserver
	// turn is held by a reader from taking a datagram off the socket until it has
	// queued it for sipgo (or found it a REGISTER): whichever reader takes each,
	// sipgo gets them in the socket's order, a phone's 180 before its 200.
	turn sync.Mutex
	// waits counts REGISTERs read and those read late (Waits).
	waits waitBook
	// gate holds back the readers beyond the active ones (SetActiveReaders).
	gate *readerGate
}

// New returns a front end for cfg.Conn; call Serve to start it and give sipgo Rest.
func New(cfg Config) *Front {
	if cfg.Readers <= 0 {
		cfg.Readers = runtime.GOMAXPROCS(0)
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = 4096
	}
	if cfg.Retransmissions <= 0 {
		cfg.Retransmissions = DefaultCacheSize
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.ShedAge == 0 {
		cfg.ShedAge = DefaultShedAge
	}
	if cfg.SourceRefusals == 0 {
		cfg.SourceRefusals = DefaultSourceRefusals
	}
	if cfg.Refusals == 0 {
		cfg.Refusals = DefaultRefusals
	}
	if cfg.LateAfter <= 0 {
		cfg.LateAfter = DefaultLateAfter
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	shed, _ := cfg.Observer.(ShedObserver)
	if shed == nil {
		shed = nopObserver{}
	}
	waitObserver, _ := cfg.Observer.(WaitObserver)
	f := &Front{
		cfg:          cfg,
		shed:         shed,
		waitObserver: waitObserver,
		cache:        newResponseCache(cfg.Retransmissions),
		gate:         newReaderGate(cfg.Readers),
		waits:        newWaitBook(cfg.Readers),
		rest:         newPassThrough(cfg.Conn, cfg.Backlog),
	}
	if cfg.Reconfirm != nil {
		f.accepted = newAcceptedSet(acceptedPerGeneration, cfg.now)
	}
	return f
}

// Rest is the listener as sipgo must see it (srv.ServeUDP(front.Rest())): every
// datagram but REGISTER requests, and writes straight to the socket.
func (f *Front) Rest() net.PacketConn { return f.rest }

// Serve reads until the listener is closed, then ends Rest's reads too. It returns
// nil: a read error other than the close is logged and reading goes on.
func (f *Front) Serve() error {
	if err := stampArrivals(f.cfg.Conn); err != nil {
		// Without the stamps no age is known, and nothing is shed.
		f.cfg.Log.Error(err, "could not ask for arrival times of UDP datagrams; REGISTERs will not be shed under overload, nor counted late for --adaptive-procs")
	}
	var wg sync.WaitGroup
	for i := range f.cfg.Readers {
		wg.Go(func() { f.read(i) })
	}
	wg.Wait()
	f.rest.stop()
	return nil
}

var registerPrefix = []byte("REGISTER ")

// batchSlots is how many datagrams a reader takes off the socket in one system call
// when that many are queued (one at a time through Go's conn).
const batchSlots = 32

// read is one reader: the kernel hands each batch of datagrams to one of them, so
// several readers keep every core answering while one waits for the next datagram.
func (f *Front) read(i int) {
	a := answerer{parser: sipparse.New(), front: f, io: f.openIO(),
		refusals: newRefusalBudget(float64(f.cfg.SourceRefusals), float64(f.cfg.Refusals), f.cfg.Readers),
		waits:    f.waits.readers[i]}
	defer a.io.close()
	slots := batchSlots
	if _, shared := a.io.(*sharedConn); shared {
		slots = 1
	}
	b := newBatch(slots, maxDatagram)
	// serve answers a batch; it goes on reading while the reader stays active.
	serve := func(b *batch) bool {
		f.handOn(b)
		f.turn.Unlock()
		a.crowded = b.crowded
		now := f.cfg.now().UnixNano()
		for i := range b.got {
			m := &b.got[i]
			if m.truncated || !bytes.HasPrefix(m.data, registerPrefix) {
				continue
			}
			f.serveRegister(&a, m, now)
		}
		if err := a.io.flush(); err != nil {
			f.cfg.Log.V(1).Info("could not send a REGISTER response", "error", err.Error())
		}
		return f.gate.allowed(i)
	}
	for f.gate.wait(i) {
		err := a.io.readBatches(b, &f.turn, serve)
		switch {
		case err == nil: // no longer active: wait at the gate
		case errors.Is(err, net.ErrClosed):
			f.gate.stop()
			return
		default:
			// A temporary failure (an ICMP error surfacing, a full buffer) is not
			// the listener's end.
			f.cfg.Log.V(1).Info("UDP read failed", "error", err.Error())
		}
	}
}

// serveRegister answers one REGISTER datagram of a batch read at now: shed at once
// if admission says so, else by the answerer.
func (f *Front) serveRegister(a *answerer, m *received, now int64) {
	var age time.Duration // unknown without an arrival stamp: not late
	if m.arrived != 0 {
		age = time.Duration(now - m.arrived)
	}
	a.waits.count(age, f.cfg.LateAfter)
	if f.waitObserver != nil && m.arrived != 0 {
		f.waitObserver.QueueWait(max(age, 0)) // a clock stepped back is no wait
	}
	a.shedding = a.admission.observe(age, f.cfg.ShedAge, now, a.crowded)
	if f.shedEarly(a, m, now) {
		return
	}
	a.answer(m.data, m.from)
}

// handOn queues the batch's datagrams for sipgo, in the socket's order; the reader
// holds turn meanwhile. A datagram longer than a slot is dropped whole: its end,
// Via and all, is gone.
func (f *Front) handOn(b *batch) {
	for i := range b.got {
		m := &b.got[i]
		if m.truncated {
			f.cfg.Log.V(1).Info("dropping a truncated UDP datagram", "source", m.from.String(), "bytes", len(m.data))
			continue
		}
		if bytes.HasPrefix(m.data, registerPrefix) {
			continue
		}
		if !f.rest.offer(m.data, m.from) {
			f.cfg.Observer.Dropped()
		}
	}
}

// openIO gives a reader a descriptor of its own where it can, else the listener.
func (f *Front) openIO() packetIO {
	if !f.cfg.SharedSocket {
		io, err := openDirect(f.cfg.Conn, f.gate.lend)
		if err == nil {
			return io
		}
		f.cfg.Log.V(1).Info("UDP readers share the listener", "reason", err.Error())
	}
	return newSharedConn(f.cfg.Conn)
}

// answerer is one reader's state, reused from request to request.
type answerer struct {
	parser *sipparse.Parser
	front  *Front
	io     packetIO
	out    wireWriter
	shed   bytes.Buffer // a 503 or 400 written from a REGISTER's raw lines (shed.go, malformed.go)
	// refusals is this reader's allowance of 503s (shed_budget.go); nil: no bound.
	refusals *refusalBudget
	// crowded: the batch being answered left the socket's buffer crowded (admission_linux.go).
	crowded   bool
	admission admission
	// shedding: admission sheds the REGISTER being answered if it has no credentials.
	shedding bool
	waits    *waitStats
	key      []byte // the retransmission key
	cached   []byte // a response from the cache
	// source and sourceText are the last source address and its text: the two
	// requests of a registration come from one address, and rendering it is an
	// allocation per request.
	source     netip.AddrPort
	sourceText string
}

// sourceString is from as text, as the request's source.
func (a *answerer) sourceString(from netip.AddrPort) string {
	if from != a.source || a.sourceText == "" {
		a.source, a.sourceText = from, from.String()
	}
	return a.sourceText
}

// answer handles one REGISTER datagram: a retransmission gets the response it got
// before, one without credentials is shed if admission says so (a.shedding),
// anything else goes to the handler.
func (a *answerer) answer(data []byte, from netip.AddrPort) {
	f := a.front
	msg, err := a.parser.ParseSIP(data)
	if err != nil {
		a.refuse(data, err, from) // 400 or dropped (malformed.go)
		return
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return
	}
	req.SetTransport("UDP")
	req.SetSource(a.sourceString(from))
	to := replyAddress(req, from)
	if a.shedding && !digest.CarriesCredentials(req) {
		if !a.refusals.allow(from.Addr(), f.cfg.now().UnixNano()) {
			f.shed.ShedUnanswered()
			return
		}
		f.shed.Shed()
		a.send(a.out.response(unavailable(req)), to)
		return
	}

	key, cacheable := retransmissionKey(a.key[:0], req, from)
	a.key = key
	var sum uint64
	if cacheable {
		if res, ok := f.cache.get(key, a.cached[:0]); ok {
			a.cached = res
			f.cfg.Observer.Retransmission()
			a.send(res, to)
			return
		}
		if f.accepted != nil {
			if sum = f.accepted.sum(data, from); f.accepted.has(sum) {
				out := a.out.response(f.cfg.Reconfirm(req, len(data)))
				f.cache.put(key, out)
				f.cfg.Observer.Retransmission()
				a.send(out, to)
				return
			}
		}
	}
	res := f.cfg.Handle(req, len(data))
	out := a.out.response(res)
	if cacheable {
		f.cache.put(key, out)
		if f.accepted != nil && res != nil && res.StatusCode == sip.StatusOK {
			f.accepted.add(sum)
		}
	}
	a.send(out, to)
}

func (a *answerer) send(b []byte, to netip.AddrPort) {
	if err := a.io.write(b, to); err != nil {
		a.front.cfg.Log.V(1).Info("could not send a REGISTER response", "to", to.String(), "error", err.Error())
	}
}
