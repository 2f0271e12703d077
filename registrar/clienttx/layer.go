// Package clienttx runs sipgo client transactions whose responses reach them in the
// order they arrived.
//
// sipgo's transaction layer hands every response it reads to a goroutine of its
// own, and a transaction takes them in whatever order those goroutines run. A 180
// followed at once by the 200 (a phone answering automatically) then often reaches
// the INVITE transaction second: it is in the Accepted state by then, and drops the
// 180. A proxy must relay the responses of a branch in the order they came (RFC 3261
// §16.7), so its transactions are kept here instead: the transport layer shows each
// response to Layer as it reads it, in order, and Layer passes a transaction its
// responses one after the other.
package clienttx

import (
	"context"
	"fmt"
	"sync"

	"github.com/emiago/sipgo/sip"
	"github.com/go-logr/logr"
)

// Layer creates client transactions and delivers their responses; it is a
// sipgo.ClientTransactionRequester.
type Layer struct {
	tpl *sip.TransportLayer
	log logr.Logger

	mu  sync.RWMutex
	txs map[string]*inbox // by transaction key
}

// New returns a Layer; call Serve before the first Request.
func New(log logr.Logger) *Layer {
	return &Layer{log: log, txs: make(map[string]*inbox)}
}

// Serve takes the responses of Layer's transactions from tpl as its connections read
// them, and creates the transactions' connections in it.
func (l *Layer) Serve(tpl *sip.TransportLayer) {
	l.tpl = tpl
	tpl.OnMessage(l.deliver)
}

// Request sends req in a new client transaction, as sipgo's transaction layer does.
func (l *Layer) Request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	if req.IsAck() {
		return nil, fmt.Errorf("an ACK has no transaction: send it through the transport")
	}
	key, err := sip.ClientTxKeyMake(req)
	if err != nil {
		return nil, fmt.Errorf("while making the key of a %s transaction: %w", req.Method, err)
	}
	conn, err := l.tpl.ClientRequestConnection(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("while getting a connection for a %s: %w", req.Method, err)
	}
	tx := sip.NewClientTx(key, req, conn, sip.DefaultLogger())
	l.mu.Lock()
	if _, exists := l.txs[key]; exists {
		l.mu.Unlock()
		_, _ = conn.TryClose()
		return nil, fmt.Errorf("a client transaction %q already exists", key)
	}
	l.txs[key] = &inbox{tx: tx}
	l.mu.Unlock()
	// The transaction closes conn when it ends.
	tx.OnTerminate(func(key string, _ error) {
		l.mu.Lock()
		delete(l.txs, key)
		l.mu.Unlock()
	})
	if err := tx.Init(); err != nil {
		tx.Terminate()
		return nil, err
	}
	return tx, nil
}

// deliver is the transport layer's handler: it runs in a connection's reading
// goroutine, so it sees that connection's messages in order, and must not wait.
func (l *Layer) deliver(msg sip.Message) {
	res, ok := msg.(*sip.Response)
	if !ok {
		return
	}
	in := l.inboxOf(res)
	if in == nil {
		return
	}
	if !in.push(res) {
		l.log.V(1).Info("dropping a response: its transaction has too many waiting", "response", res.StartLine())
	}
}

// Unhandled is sipgo's transaction layer's handler of responses matching none of its
// transactions: it knows none of Layer's, so it reports every response to them too.
// Those Layer delivered already; any other is logged.
func (l *Layer) Unhandled(res *sip.Response) {
	if l.inboxOf(res) != nil {
		return
	}
	l.log.V(1).Info("a response matching no transaction", "response", res.StartLine(), "from", res.Source())
}

func (l *Layer) inboxOf(res *sip.Response) *inbox {
	key, err := sip.ClientTxKeyMake(res)
	if err != nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.txs[key]
}
