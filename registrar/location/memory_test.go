package location

import (
	"runtime"
	"strconv"
	"testing"
	"unsafe"
)

// BenchmarkLocationMemory measures what the registrar keeps per registered device:
// 100,000 AORs with one binding each, as phones behind their own NATs register them
// (a Contact, source, Call-ID and user agent of their own), retained after a
// collection. docs/scaling.md projects from it.
//
//	go test -run XXX -bench LocationMemory -benchtime 1x ./registrar/location/
func BenchmarkLocationMemory(b *testing.B) {
	const n = 100_000
	p := pol()
	for range b.N {
		before := heapInUse()
		tb := New(0, nil)
		for i := range n {
			ext := strconv.Itoa(100000 + i)
			host := "198.51." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
			rq := benchReq(ext+"@c"+strconv.Itoa(i%1000)+".registrar.voipbin.net", 1, t0)
			rq.CallID = "a84b4c76e66710-" + ext + "@" + host
			rq.Contacts = []ContactUpdate{{URI: "sip:" + ext + "@" + host + ":5060;transport=udp", Expires: -1}}
			rq.Source = host + ":5060"
			if _, err := tb.Register(rq, p); err != nil {
				b.Fatal(err)
			}
		}
		per := (heapInUse() - before) / n
		runtime.KeepAlive(tb)
		b.ReportMetric(per, "B/binding")
		b.ReportMetric(per*n/(1<<20), "MB/100k")
	}
}

func heapInUse() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// A binding's q sits in the padding after RegID: it costs no memory.
func TestBindingSize(t *testing.T) {
	if n := unsafe.Sizeof(Binding{}); n != 176 {
		t.Errorf("a Binding takes %d bytes, want 176", n)
	}
}
