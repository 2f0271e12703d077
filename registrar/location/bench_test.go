package location

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func benchReq(aor string, cseq uint32, now time.Time) Request {
	return Request{
		AOR: aor, CallID: "a84b4c76e66710@pc33.atlanta.com", CSeq: cseq, Expires: 3600,
		Contacts: []ContactUpdate{{URI: "sip:1001@198.51.100.7:5060;transport=udp;ob", Expires: -1}},
		Source:   "198.51.100.7:5060", Transport: "UDP", UserAgent: "Yealink SIP-T46S 66.86.0.15",
		Now: now,
	}
}

// BenchmarkRefresh: the common case, a device refreshing its one binding.
func BenchmarkRefresh(b *testing.B) {
	tb := New(0, nil)
	p := pol()
	aor := "1001@acme.registrar.voipbin.net"
	mustRegister(&testing.T{}, tb, benchReq(aor, 1, t0), p)
	rq := benchReq(aor, 1, t0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rq.CSeq = uint32(i + 2)
		rq.Now = t0.Add(time.Duration(i) * time.Millisecond)
		if _, err := tb.Register(rq, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshLargeTable: devices of a 100,000-AOR table refreshing in a
// scattered order, as they do: the table's memory is cold for each.
func BenchmarkRefreshLargeTable(b *testing.B) {
	const n = 100_000
	tb := New(0, nil)
	p := pol()
	aors := make([]string, n)
	for i := range aors {
		aors[i] = strconv.Itoa(100000+i) + "@acme.registrar.voipbin.net"
		mustRegister(&testing.T{}, tb, benchReq(aors[i], 1, t0), p)
	}
	var buf []Binding
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rq := benchReq(aors[(i*7919)%n], uint32(2+i/n), t0.Add(time.Duration(i)*time.Microsecond))
		var err error
		if buf, err = tb.RegisterAppend(buf[:0], rq, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshAppend: the same with the caller reusing the answer buffer.
func BenchmarkRefreshAppend(b *testing.B) {
	tb := New(0, nil)
	p := pol()
	aor := "1001@acme.registrar.voipbin.net"
	mustRegister(&testing.T{}, tb, benchReq(aor, 1, t0), p)
	rq := benchReq(aor, 1, t0)
	var buf []Binding
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rq.CSeq = uint32(i + 2)
		rq.Now = t0.Add(time.Duration(i) * time.Millisecond)
		var err error
		if buf, err = tb.RegisterAppend(buf[:0], rq, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh3: refreshing one of three bindings of an AOR.
func BenchmarkRefresh3(b *testing.B) {
	tb := New(0, nil)
	p := pol()
	aor := "1001@acme.registrar.voipbin.net"
	for k, u := range []string{"sip:1001@203.0.113.1:5060", "sip:1001@203.0.113.2:5060"} {
		r := benchReq(aor, 1, t0)
		r.CallID = "other" + strconv.Itoa(k)
		r.Contacts = []ContactUpdate{{URI: u, Expires: -1}}
		mustRegister(&testing.T{}, tb, r, p)
	}
	mustRegister(&testing.T{}, tb, benchReq(aor, 1, t0), p)
	rq := benchReq(aor, 1, t0)
	var buf []Binding
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rq.CSeq = uint32(i + 2)
		var err error
		if buf, err = tb.RegisterAppend(buf[:0], rq, p); err != nil || len(buf) != 3 {
			b.Fatal(err, len(buf))
		}
	}
}

// BenchmarkNewBinding: first REGISTER of a new AOR (the table grows by b.N AORs).
func BenchmarkNewBinding(b *testing.B) {
	tb := New(0, nil)
	p := pol()
	aors := make([]string, b.N)
	for i := range aors {
		aors[i] = strconv.Itoa(i) + "@acme.registrar.voipbin.net"
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tb.Register(benchReq(aors[i], 1, t0), p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewBindingExistingAOR: a new contact on an AOR that has one (replace-oldest
// keeps it at MaxContacts), i.e. a new binding without a new record.
func BenchmarkNewBindingExistingAOR(b *testing.B) {
	tb := New(0, nil)
	p := pol()
	aor := "1001@acme.registrar.voipbin.net"
	uris := make([]string, 64)
	for i := range uris {
		uris[i] = "sip:1001@198.51.100." + strconv.Itoa(i) + ":5060"
	}
	rq := benchReq(aor, 1, t0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rq.CallID = uris[i%len(uris)] // a new device each time
		rq.Contacts = []ContactUpdate{{URI: uris[i%len(uris)], Expires: -1}}
		rq.Now = t0.Add(time.Duration(i) * time.Millisecond)
		if _, err := tb.Register(rq, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshParallel: refreshes spread over 100,000 AORs from all cores.
func BenchmarkRefreshParallel(b *testing.B) {
	const n = 100000
	tb := New(0, nil)
	p := pol()
	aors := make([]string, n)
	for i := range aors {
		aors[i] = strconv.Itoa(i) + "@acme.registrar.voipbin.net"
		mustRegister(&testing.T{}, tb, benchReq(aors[i], 1, t0), p)
	}
	var seq atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf []Binding
		for pb.Next() {
			s := seq.Add(1)
			rq := benchReq(aors[s%n], s/n+2, t0.Add(time.Duration(s)*time.Microsecond))
			var err error
			buf, err = tb.RegisterAppend(buf[:0], rq, p)
			if err != nil && err != ErrOutOfOrder { // two goroutines may race on one AOR
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkExpireDue: one sweep, per op, of the 1,000 AORs due in one second out
// of 100,000 (the table is rebuilt, off the clock, every 100 sweeps).
func BenchmarkExpireDue(b *testing.B) {
	const n, perSec = 100000, 1000
	p := pol()
	aors := make([]string, n)
	for i := range aors {
		aors[i] = strconv.Itoa(i) + "@d"
	}
	var tb *Table
	sec := n / perSec
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if sec == n/perSec {
			b.StopTimer()
			tb, sec = New(0, nil), 0
			for k, aor := range aors {
				r := benchReq(aor, 1, t0)
				r.Expires = int64(60 + k/perSec)
				mustRegister(&testing.T{}, tb, r, p)
			}
			b.StartTimer()
		}
		if got := tb.ExpireDue(t0.Add(time.Duration(60+sec) * time.Second)); len(got) != perSec {
			b.Fatal(len(got))
		}
		sec++
	}
}

func BenchmarkURIEqual(b *testing.B) {
	for i := 0; i < b.N; i++ {
		URIEqual("sip:1001@198.51.100.7:5060;transport=udp;ob", "SIP:1001@198.51.100.7:5060;Transport=UDP")
	}
}
