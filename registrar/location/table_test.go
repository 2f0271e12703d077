package location

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestExpireDueAndNextExpiry(t *testing.T) {
	tb, ch := watched(8)
	if _, ok := tb.NextExpiry(); ok {
		t.Fatal("empty table has a next expiry")
	}
	if got := tb.ExpireDue(at(1 << 20)); len(got) != 0 {
		t.Fatal(got)
	}
	// x: bindings expiring at 60 and 300; y: at 120; z: at 3600.
	for _, r := range []Request{
		{AOR: "x", CallID: "c", CSeq: 1, Expires: -1, Contacts: []ContactUpdate{ct("sip:x1@h", 60), ct("sip:x2@h", 300)}, Now: at(0)},
		{AOR: "y", CallID: "c", CSeq: 1, Expires: 120, Contacts: []ContactUpdate{ct("sip:y@h", -1)}, Now: at(0)},
		{AOR: "z", CallID: "c", CSeq: 1, Expires: -1, Contacts: []ContactUpdate{ct("sip:z@h", -1)}, Now: at(0)},
	} {
		mustRegister(t, tb, r, pol())
	}
	clear(ch.n)
	steps := []struct {
		now     int
		changed []string
		next    int // -1 = none
		aors    int
		binds   int
	}{
		{0, nil, 60, 3, 4},
		{59, nil, 60, 3, 4},
		{60, []string{"x"}, 120, 3, 3}, // due exactly at ExpiresAt
		{200, []string{"y"}, 300, 2, 2},
		{5000, []string{"x", "z"}, -1, 0, 0},
	}
	for _, st := range steps {
		// Lookup hides due bindings before any sweep.
		for _, b := range tb.Lookup("x", at(st.now)) {
			if !b.ExpiresAt.After(at(st.now)) {
				t.Fatalf("Lookup returned expired %v", b)
			}
		}
		got := tb.ExpireDue(at(st.now))
		if fmt.Sprint(sorted(got)) != fmt.Sprint(st.changed) && !(len(got) == 0 && len(st.changed) == 0) {
			t.Fatalf("at %d: ExpireDue = %v, want %v", st.now, got, st.changed)
		}
		for _, a := range st.changed {
			if ch.take(a) != 1 {
				t.Fatalf("at %d: OnChange not called once for %s", st.now, a)
			}
		}
		if len(ch.n) != 0 {
			t.Fatalf("at %d: extra OnChange %v", st.now, ch.n)
		}
		next, ok := tb.NextExpiry()
		if st.next < 0 && ok || st.next >= 0 && (!ok || !next.Equal(at(st.next))) {
			t.Fatalf("at %d: NextExpiry = %v %v, want %d", st.now, next, ok, st.next)
		}
		if a, b := tb.Len(); a != st.aors || b != st.binds {
			t.Fatalf("at %d: Len = %d,%d want %d,%d", st.now, a, b, st.aors, st.binds)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRefreshMovesHeap(t *testing.T) {
	tb := New(1, nil) // one shard: everything in one heap
	for i := 0; i < 50; i++ {
		r := Request{AOR: fmt.Sprint("a", i), CallID: "c", CSeq: 1, Expires: int64(100 + i), Contacts: []ContactUpdate{ct("sip:u@h", -1)}, Now: at(0)}
		mustRegister(t, tb, r, pol())
	}
	// Refresh the earliest ones late so they become the latest.
	for i := 0; i < 10; i++ {
		r := Request{AOR: fmt.Sprint("a", i), CallID: "c", CSeq: 2, Expires: 1000, Contacts: []ContactUpdate{ct("sip:u@h", -1)}, Now: at(50)}
		mustRegister(t, tb, r, pol())
	}
	if n, _ := tb.NextExpiry(); !n.Equal(at(110)) {
		t.Fatalf("NextExpiry = %v", n)
	}
	if got := tb.ExpireDue(at(149)); len(got) != 40 {
		t.Fatalf("expired %d", len(got))
	}
	if n, _ := tb.NextExpiry(); !n.Equal(at(1050)) {
		t.Fatalf("NextExpiry = %v", n)
	}
}

// A refresh leaves an AOR's heap key behind (heap.go); one that brings an expiry
// earlier must still be first to go, and a key left behind must never expire an AOR
// early or report it changed.
func TestShorterExpiryComesFirstAndRefreshedAORsStay(t *testing.T) {
	tb := New(1, nil)
	reg := func(aor string, cseq uint32, expires int64, now int) {
		mustRegister(t, tb, Request{AOR: aor, CallID: "c", CSeq: cseq, Expires: expires, Contacts: []ContactUpdate{ct("sip:u@h", -1)}, Now: at(now)}, pol())
	}
	reg("a", 1, 100, 0)
	reg("b", 1, 200, 0)
	for i := range 20 { // a refreshes again and again: its key stays at 100
		reg("a", uint32(2+i), 100, 10*(i+1))
	}
	reg("b", 2, 70, 0) // b now expires first
	if n, _ := tb.NextExpiry(); !n.Equal(at(70)) {
		t.Fatalf("NextExpiry = %v, want b's at %v", n, at(70))
	}
	if got := tb.ExpireDue(at(150)); len(got) != 1 || got[0] != "b" {
		t.Fatalf("ExpireDue(150) = %v, want [b]: a was refreshed until 300", got)
	}
	if bs := tb.Lookup("a", at(150)); len(bs) != 1 {
		t.Fatalf("a has %d bindings at 150, want its refreshed one", len(bs))
	}
	if n, _ := tb.NextExpiry(); !n.Equal(at(300)) {
		t.Fatalf("NextExpiry = %v, want a's refreshed expiry %v", n, at(300))
	}
	if got := tb.ExpireDue(at(300)); len(got) != 1 || got[0] != "a" {
		t.Fatalf("ExpireDue(300) = %v, want [a]", got)
	}
}

func TestRestore(t *testing.T) {
	tb, ch := watched(4)
	mustRegister(t, tb, req("c1", 5, 600, 100, ct("sip:a@h", -1)), pol())
	mustRegister(t, tb, req("c2", 7, 600, 100, ct("sip:b@h", -1)), pol())
	clear(ch.n)
	mk := func(uri, cid string, cseq uint32, reg, exp int) Binding {
		return Binding{URI: uri, CallID: cid, CSeq: cseq, Expires: 600, RegisteredAt: at(reg), ExpiresAt: at(exp), Source: "s", Transport: "TCP"}
	}
	tb.Restore(aor1, []Binding{
		mk("SIP:a@H", "c1", 4, 0, 650),   // same call-id, lower cseq: older, dropped
		mk("sip:b@h", "c9", 1, 200, 800), // other call-id, registered later: newer, kept
		mk("sip:c@h", "c3", 1, 50, 640),  // new
		mk("sip:c@h", "c3", 2, 50, 700),  // duplicate in input: higher cseq wins
		mk("sip:old@h", "c4", 1, 0, 90),  // already expired: kept until swept
		{URI: "", CallID: "x", CSeq: 1},  // ignored
	})
	if len(ch.n) != 0 {
		t.Fatalf("Restore fired OnChange: %v", ch.n)
	}
	got := tb.Snapshot(aor1)
	if uris(got) != "sip:a@h,sip:b@h,sip:c@h,sip:old@h" || got[0].CSeq != 5 || got[1].CallID != "c9" || got[2].CSeq != 2 {
		t.Fatal(dump(got))
	}
	if a, b := tb.Len(); a != 1 || b != 4 {
		t.Fatalf("Len %d %d", a, b)
	}
	if n, _ := tb.NextExpiry(); !n.Equal(at(90)) {
		t.Fatalf("NextExpiry %v", n)
	}
	// Restored Call-ID/CSeq order later REGISTERs.
	if _, err := tb.Register(req("c3", 2, 600, 120, ct("sip:c@h", -1)), pol()); err != ErrOutOfOrder {
		t.Fatalf("err = %v", err)
	}
	// Restore into an empty AOR, then sweep: expired entries reported.
	tb.Restore("other", []Binding{mk("sip:o@h", "c", 1, 0, 10)})
	if got := tb.ExpireDue(at(120)); fmt.Sprint(sorted(got)) != fmt.Sprint([]string{aor1, "other"}) {
		t.Fatalf("ExpireDue = %v", got)
	}
}

func TestOnChange(t *testing.T) {
	tb, ch := watched(4)
	const u = "sip:a@10.0.0.1"
	steps := []struct {
		name string
		do   func() error
		want int
	}{
		{"new binding", func() error { _, err := tb.Register(req("c", 1, 600, 0, ct(u, -1)), pol()); return err }, 1},
		{"pure refresh", func() error { _, err := tb.Register(req("c", 2, 600, 300, ct(u, -1)), pol()); return err }, 0},
		{"query", func() error { _, err := tb.Register(req("c", 2, -1, 300), pol()); return err }, 0},
		{"refused", func() error { _, err := tb.Register(req("c", 2, 600, 300, ct(u, -1)), pol()); return ignore(err) }, 0},
		{"source changed", func() error {
			r := req("c", 3, 600, 310, ct(u, -1))
			r.Source = "203.0.113.9:41000"
			_, err := tb.Register(r, pol())
			return err
		}, 1},
		{"transport changed", func() error {
			r := req("c", 4, 600, 320, ct(u, -1))
			r.Source, r.Transport = "203.0.113.9:41000", "TCP"
			_, err := tb.Register(r, pol())
			return err
		}, 1},
		{"user agent changed", func() error {
			r := req("c", 5, 600, 330, ct(u, -1))
			r.Source, r.Transport, r.UserAgent = "203.0.113.9:41000", "TCP", "phone/2.0"
			_, err := tb.Register(r, pol())
			return err
		}, 1},
		{"back to the original values", func() error { _, err := tb.Register(req("c", 6, 600, 340, ct(u, -1)), pol()); return err }, 1},
		{"interval changed", func() error { _, err := tb.Register(req("c", 7, 900, 350, ct(u, -1)), pol()); return err }, 1},
		{"uri spelling changed", func() error {
			_, err := tb.Register(req("c", 8, 900, 360, ct("sip:a@10.0.0.1;ob", -1)), pol())
			return err
		}, 1},
		{"new call-id, nothing else", func() error {
			_, err := tb.Register(req("c2", 1, 900, 370, ct("sip:a@10.0.0.1;ob", -1)), pol())
			return err
		}, 0},
		{"refresh again", func() error {
			_, err := tb.Register(req("c2", 2, 900, 380, ct("sip:a@10.0.0.1;ob", -1)), pol())
			return err
		}, 0},
		{"remove unknown contact", func() error { _, err := tb.Register(req("c2", 3, 0, 390, ct("sip:zz@h", -1)), pol()); return err }, 0},
		{"RemoveURI unknown", func() error { tb.RemoveURI(aor1, "sip:zz@h"); return nil }, 0},
		{"second binding", func() error { _, err := tb.Register(req("c3", 1, 600, 400, ct("sip:b@h", -1)), pol()); return err }, 1},
		{"RemoveURI", func() error { tb.RemoveURI(aor1, "SIP:b@H"); return nil }, 1},
		{"expires 0", func() error { _, err := tb.Register(req("c2", 4, 0, 410, ct(u, -1)), pol()); return err }, 1},
		{"register again", func() error { _, err := tb.Register(req("c2", 5, 600, 420, ct(u, -1)), pol()); return err }, 1},
		{"ExpireDue before due", func() error { tb.ExpireDue(at(1000)); return nil }, 0},
		{"refresh after expiry purges and re-adds", func() error { _, err := tb.Register(req("c2", 6, 600, 1100, ct(u, -1)), pol()); return err }, 1},
		{"ExpireDue", func() error { tb.ExpireDue(at(2000)); return nil }, 1},
		{"register", func() error { _, err := tb.Register(req("c2", 7, 600, 2000, ct(u, -1)), pol()); return err }, 1},
		{"Remove", func() error { tb.Remove(aor1); return nil }, 1},
		{"Remove empty", func() error { tb.Remove(aor1); return nil }, 0},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := ch.take(aor1); got != st.want {
			t.Fatalf("%s: OnChange called %d times, want %d", st.name, got, st.want)
		}
	}
}

func ignore(err error) error {
	if err == ErrOutOfOrder {
		return nil
	}
	return fmt.Errorf("want ErrOutOfOrder, got %v", err)
}

func TestOnChangeMayReenter(t *testing.T) {
	var tb *Table
	var seen []Binding
	tb = New(1, func(aor string) { seen = tb.Snapshot(aor) }) // would deadlock under the lock
	mustRegister(t, tb, req("c", 1, 600, 0, ct("sip:a@h", -1)), pol())
	if len(seen) != 1 {
		t.Fatal(seen)
	}
}

func TestRemove(t *testing.T) {
	tb := New(4, nil)
	mustRegister(t, tb, req("c", 1, 600, 0, ct("sip:a@h", -1), ct("sip:b@h", -1)), pol())
	if tb.RemoveURI("nobody", "sip:a@h") || tb.RemoveURI(aor1, "sip:a@h:5060") {
		t.Fatal("removed a non-matching binding")
	}
	if tb.RemoveURI(aor1, "sip:a@h;transport=udp") || tb.RemoveURI(aor1, "sip:A@h") {
		t.Fatal("RemoveURI matched a different URI")
	}
	if !tb.RemoveURI(aor1, "sip:a@H;ob") {
		t.Fatal("RemoveURI failed")
	}
	if a, b := tb.Len(); a != 1 || b != 1 {
		t.Fatalf("Len %d %d", a, b)
	}
	got := tb.Remove(aor1)
	if uris(got) != "sip:b@h" || tb.Remove(aor1) != nil || tb.Lookup(aor1, at(0)) != nil {
		t.Fatal(uris(got))
	}
	if a, b := tb.Len(); a != 0 || b != 0 {
		t.Fatalf("Len %d %d", a, b)
	}
	if _, ok := tb.NextExpiry(); ok {
		t.Fatal("heap not emptied")
	}
	mustRegister(t, tb, req("c", 2, 600, 0, ct("sip:a@h", -1)), pol())
	if !tb.RemoveURI(aor1, "sip:a@h") {
		t.Fatal("RemoveURI of the last binding")
	}
	if a, b := tb.Len(); a != 0 || b != 0 {
		t.Fatalf("Len %d %d", a, b)
	}
}

func TestRange(t *testing.T) {
	tb := New(4, nil)
	for i := 0; i < 20; i++ {
		mustRegister(t, tb, Request{AOR: fmt.Sprint(i), CallID: "c", CSeq: 1, Expires: -1, Contacts: []ContactUpdate{ct("sip:u@h", -1)}, Now: at(0)}, pol())
	}
	n := 0
	tb.Range(func(aor string, bs []Binding) bool { n += len(bs); return true })
	if n != 20 {
		t.Fatal(n)
	}
	n = 0
	tb.Range(func(string, []Binding) bool { n++; return n < 5 })
	if n != 5 {
		t.Fatal(n)
	}
}

func TestRemaining(t *testing.T) {
	b := Binding{ExpiresAt: at(60)}
	for _, tt := range []struct {
		now  time.Time
		want int32
	}{
		{at(0), 60},
		{at(0).Add(-time.Nanosecond), 61},
		{at(0).Add(time.Millisecond), 60},
		{at(59).Add(time.Millisecond), 1},
		{at(60), 0},
		{at(100), 0},
		{time.Time{}, 2147483647},
	} {
		if got := b.Remaining(tt.now); got != tt.want {
			t.Errorf("Remaining(%v) = %d, want %d", tt.now, got, tt.want)
		}
	}
	if got := b.ContactValue(at(30)); got != "<>;expires=30" {
		t.Error(got)
	}
}

func TestConcurrent(t *testing.T) {
	var mu sync.Mutex
	changes := 0
	tb := New(0, func(string) { mu.Lock(); changes++; mu.Unlock() })
	const workers, aors, rounds = 8, 500, 20
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var buf []Binding
			for r := 0; r < rounds; r++ {
				for a := 0; a < aors; a++ {
					aor := fmt.Sprintf("%d@d", a)
					rq := Request{AOR: aor, CallID: fmt.Sprint("w", w), CSeq: uint32(r + 1), Expires: 120,
						Contacts: []ContactUpdate{ct(fmt.Sprintf("sip:%d@10.0.0.%d", a, w), -1)}, Now: at(r * 10)}
					var err error
					buf, err = tb.RegisterAppend(buf[:0], rq, pol())
					if err != nil {
						t.Error(err)
						return
					}
					if len(buf) > 3 {
						t.Errorf("%s: %d bindings", aor, len(buf))
						return
					}
					_ = tb.Lookup(aor, at(r*10))
				}
				if w == 0 {
					tb.ExpireDue(at(r * 10))
					tb.NextExpiry()
				}
			}
		}(w)
	}
	wg.Wait()
	a, b := tb.Len()
	total := 0
	for i := 0; i < aors; i++ {
		total += len(tb.Snapshot(fmt.Sprintf("%d@d", i)))
	}
	if a != aors || b != total || b != aors*3 {
		t.Fatalf("Len = %d,%d; snapshots %d", a, b, total)
	}
	if changes == 0 {
		t.Fatal("no OnChange")
	}
}

func TestRefreshDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	tb := New(0, nil)
	r := req("c", 1, 600, 0, ct("sip:a@10.0.0.1:5060;ob", -1))
	buf := mustRegister(t, tb, r, pol())
	n := testing.AllocsPerRun(100, func() {
		r.CSeq++
		var err error
		if buf, err = tb.RegisterAppend(buf[:0], r, pol()); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("refresh allocates %v times", n)
	}
}
