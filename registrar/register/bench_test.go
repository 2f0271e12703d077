package register

import (
	"bytes"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/internal/sipparse"
	"github.com/voipbin/registrar-operator/registrar/throttle"
)

// benchBatch is how many signed requests are prepared at a time, outside the timer:
// each carries the next CSeq and nonce count, as a refreshing device's would.
const benchBatch = 1024

// BenchmarkRegisterHotPath is an authenticated refresh end to end: raw bytes parsed,
// digest checked (MD5, qop=auth, nc counting up), binding refreshed, 200 OK built
// and serialised.
func BenchmarkRegisterHotPath(b *testing.B) { benchRegisterHotPath(b, newEnv(b)) }

// BenchmarkRegisterHotPathThrottled is BenchmarkRegisterHotPath with the throttles
// the registrar runs with by default, which every authenticated REGISTER consults.
func BenchmarkRegisterHotPathThrottled(b *testing.B) {
	e := newEnv(b)
	e.guard.BySource = throttle.New(throttle.DefaultConfig())
	e.guard.BySourceAOR = throttle.New(throttle.DefaultPairConfig())
	e.guard.ByAOR = throttle.New(throttle.DefaultConfig())
	benchRegisterHotPath(b, e)
}

func benchRegisterHotPath(b *testing.B, e *env) {
	d := e.device(testUser, testPassword)
	if res := d.register(func(m *msg) { m.expires = "3600" }); res.StatusCode != sip.StatusOK {
		b.Fatalf("first registration: %d", res.StatusCode)
	}
	reqs := make([][]byte, benchBatch)
	prepare := func() {
		for i := range reqs {
			m := d.next()
			m.expires = "3600"
			d.sign(&m)
			reqs[i] = m.bytes()
		}
	}
	parser := sipparse.New() // the UDP front end's parser
	var out bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%benchBatch == 0 {
			b.StopTimer()
			prepare()
			b.StartTimer()
		}
		m, err := parser.ParseSIP(reqs[i%benchBatch])
		if err != nil {
			b.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource(testSource)
		req.SetTransport("UDP")
		res := e.reg.HandleDatagram(req, len(reqs[i%benchBatch]))
		if res.StatusCode != sip.StatusOK {
			b.Fatalf("%d %s", res.StatusCode, res.Reason)
		}
		out.Reset()
		res.StringWrite(&out)
	}
}

// BenchmarkChallenge is an unauthenticated REGISTER answered 407.
func BenchmarkChallenge(b *testing.B) {
	e := newEnv(b)
	d := e.device(testUser, testPassword)
	raw := d.next().bytes()
	parser := sipparse.New() // the UDP front end's parser
	var out bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := parser.ParseSIP(raw)
		if err != nil {
			b.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource(testSource)
		req.SetTransport("UDP")
		res := e.reg.Handle(req)
		if res.StatusCode != sip.StatusProxyAuthRequired {
			b.Fatalf("%d %s", res.StatusCode, res.Reason)
		}
		out.Reset()
		res.StringWrite(&out)
	}
}
