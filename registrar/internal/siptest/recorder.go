package siptest

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Recorder answers every request a phone receives with 200 OK, in the background
// as a registered device does, and keeps them.
type Recorder struct {
	mu   sync.Mutex
	reqs []*sip.Request
}

// AnswerAll starts answering the phone's requests until its transport closes. The
// phone must not be read otherwise meanwhile.
func (p *Phone) AnswerAll() *Recorder {
	r := &Recorder{}
	go func() {
		for {
			raw, from, err := p.tr.Receive(time.Time{})
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			m, err := sip.ParseMessage(raw)
			req, ok := m.(*sip.Request)
			if err != nil || !ok {
				continue
			}
			r.mu.Lock()
			r.reqs = append(r.reqs, req)
			r.mu.Unlock()
			_ = p.tr.Send([]byte(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil).String()), from)
		}
	}()
	return r
}

// Count is how many requests of method the phone has received so far.
func (r *Recorder) Count(method sip.RequestMethod) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.reqs {
		if req.Method == method {
			n++
		}
	}
	return n
}
