package main

import (
	"bufio"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestSummarizeCountsOnlySuccessesInRateLatencyAndCPU(t *testing.T) {
	tl := &tally{}
	for i := 1; i <= 100; i++ {
		connect := time.Duration(0)
		if i%2 == 0 {
			connect = time.Duration(i) * 100 * time.Microsecond
		}
		tl.add(time.Duration(i)*time.Millisecond, connect, nil)
	}
	tl.add(time.Hour, time.Hour, errors.New("lost"))
	tl.add(0, 0, errors.New("dial tcp 127.0.0.2:41000: i/o timeout"))
	tl.add(0, 0, errors.New("dial tcp 127.0.0.3:52817: i/o timeout"))
	r := summarizeTally(tl, 4, 0.5)
	if r.OK != 100 || r.Failed != 3 || r.LastErr != "dial tcp 127.0.0.3:52817: i/o timeout" {
		t.Fatalf("ok %d failed %d (last %q), want 100, 3 and the last failure", r.OK, r.Failed, r.LastErr)
	}
	if want := "2× dial tcp #.#.#.#:#: i/o timeout; 1× lost"; r.Kinds != want {
		t.Errorf("failures by kind %q, want %q: timeouts from different addresses count together", r.Kinds, want)
	}
	if r.Rate != 25 {
		t.Errorf("rate %v, want 100 registrations / 4 s = 25", r.Rate)
	}
	if r.CPUMicros != 5000 {
		t.Errorf("CPU %v µs per registration, want 0.5 s / 100 = 5000", r.CPUMicros)
	}
	if r.P50 != 50 || r.P99 != 99 {
		t.Errorf("p50 %v p99 %v ms, want 50 and 99 (the failure's hour not among them)", r.P50, r.P99)
	}
	// The 50 new connections took 0.2, 0.4, ... 10 ms.
	if math.Abs(r.ConnectP50-5) > 1e-9 {
		t.Errorf("connect p50 %v ms, want 5 (kept connections not counted)", r.ConnectP50)
	}
}

func TestSummarizeWithoutNewConnectionsHasNoConnectTime(t *testing.T) {
	tl := &tally{}
	tl.add(time.Millisecond, 0, nil)
	if r := summarizeTally(tl, 1, 0); !math.IsNaN(r.ConnectP50) || optMS(r.ConnectP50) != "-" {
		t.Errorf("connect p50 %v printed %q, want none", r.ConnectP50, optMS(r.ConnectP50))
	}
}

func TestPerConnection(t *testing.T) {
	before := memSnapshot{RSSKB: 50_000, HeapInuse: 10 << 20, StackInuse: 1 << 20, Goroutines: 100}
	after := memSnapshot{RSSKB: 650_000, HeapInuse: 10<<20 + 10_000*40*1024, StackInuse: 1<<20 + 10_000*8*1024, Goroutines: 10_100}
	c := perConnection(before, after, 10_000)
	if c.RSSKB != 60 || c.HeapKB != 40 || c.StackKB != 8 || c.Goroutine != 1 {
		t.Errorf("per connection %+v, want RSS 60 kB, heap 40 kB, stacks 8 kB, 1 goroutine", c)
	}
	if c := perConnection(before, after, 0); c != (connCost{}) {
		t.Errorf("no connections: %+v, want zero", c)
	}
}

func TestReadStreamMessageSkipsKeepAlivesAndReadsTheBody(t *testing.T) {
	in := bufio.NewReader(strings.NewReader("\r\n\r\n" +
		"SIP/2.0 200 OK\r\nCall-ID: a\r\nl: 5\r\n\r\nhello" +
		"SIP/2.0 407 Proxy Authentication Required\r\nCall-ID: b\r\nContent-Length: 0\r\n\r\n"))
	first, err := readStreamMessage(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(first), "SIP/2.0 200 OK") || !strings.HasSuffix(string(first), "\r\n\r\nhello") {
		t.Errorf("first message %q, want the 200 OK with its 5-byte body", first)
	}
	second, err := readStreamMessage(in)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := parseResponse(second); !ok || r.code != 407 || r.callID != "b" {
		t.Errorf("second message %q parsed as %+v, want the 407 of Call-ID b", second, r)
	}
	if _, err := readStreamMessage(in); err == nil {
		t.Error("read past the end without an error")
	}
}

func TestDeviceRequestNamesItsTransport(t *testing.T) {
	for _, c := range []struct{ transport, via, param string }{
		{"", "SIP/2.0/UDP ", ";transport=udp>"},
		{"TLS", "SIP/2.0/TLS ", ";transport=tls>"},
		{"WSS", "SIP/2.0/WSS ", ";transport=ws>"},
	} {
		d := newDevice(user{Name: "1000", Domain: "example.com"})
		d.transport = c.transport
		msg := string(d.request("127.0.0.2:4000", ""))
		if !strings.Contains(msg, "Via: "+c.via+"127.0.0.2:4000;") || !strings.Contains(msg, "Contact: <sip:1000@127.0.0.2:4000"+c.param) {
			t.Errorf("transport %q:\n%s\nwant Via %q and Contact %q", c.transport, msg, c.via, c.param)
		}
	}
}

func TestTransportList(t *testing.T) {
	got, err := transportList("--x", " tls, WSS ,")
	if err != nil || strings.Join(got, ",") != "TLS,WSS" {
		t.Errorf("got %q, %v; want TLS,WSS", got, err)
	}
	if _, err := transportList("--x", "TLS,UDP"); err == nil {
		t.Error("UDP accepted, want an error")
	}
}

func TestStepOverAtTheDeadlineBeforeTheContextSaysSo(t *testing.T) {
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	// A context past its deadline may not yet report it (its timer runs apart);
	// stepOver must not wait for that.
	if !stepOver(deadlineOnly{past}) {
		t.Error("a step past its deadline is not over")
	}
	future, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	if stepOver(future) {
		t.Error("a step an hour from its deadline is over")
	}
}

// deadlineOnly is a context whose deadline has passed but whose Err is still nil,
// as between the deadline and the moment its timer fires.
type deadlineOnly struct{ context.Context }

func (deadlineOnly) Err() error { return nil }
