package location

import (
	"errors"
	"testing"
)

func TestExpiryPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		param   int64
		header  int64
		want    int32
		wantErr bool
	}{
		{"param wins over header", 300, 600, 300, false},
		{"header when no param", -1, 600, 600, false},
		{"default when neither", -1, -1, 3600, false},
		{"param above max lowered", 100000, -1, 7200, false},
		{"header above max lowered", -1, 100000, 7200, false},
		{"param at min ok", 60, -1, 60, false},
		{"param below min 423", 59, 3600, 0, true},
		{"header below min 423", -1, 1, 0, true},
		{"param ok though header too brief", 120, 1, 120, false},
		{"huge param lowered", 1 << 40, -1, 7200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := New(4, nil)
			bs, err := tb.Register(req("c1", 1, tt.header, 0, ct("sip:1001@10.0.0.1:5060", tt.param)), pol())
			if tt.wantErr {
				var ite *IntervalTooBriefError
				if !errors.As(err, &ite) || ite.MinExpires != 60 {
					t.Fatalf("err = %v, want IntervalTooBriefError{60}", err)
				}
				if a, b := tb.Len(); a != 0 || b != 0 {
					t.Fatalf("table changed: %d %d", a, b)
				}
				return
			}
			if err != nil || len(bs) != 1 {
				t.Fatalf("got %v, %v", bs, err)
			}
			if bs[0].Expires != tt.want || !bs[0].ExpiresAt.Equal(at(int(tt.want))) || bs[0].Remaining(at(0)) != tt.want {
				t.Fatalf("granted %d until %v, want %d", bs[0].Expires, bs[0].ExpiresAt, tt.want)
			}
		})
	}
}

// TestAnHourOrMoreIsNeverTooBrief: RFC 3261 §10.3 step 7 allows 423 only for an
// interval under one hour, whatever the domain's minimum; under an hour and under
// the minimum is still 423, naming the minimum.
func TestAnHourOrMoreIsNeverTooBrief(t *testing.T) {
	p := pol()
	p.MinExpires, p.DefaultExpires, p.MaxExpires = 7200, 7200, 86400
	for _, requested := range []int64{3600, 5000} {
		bs := mustRegister(t, New(1, nil), req("c", 1, requested, 0, ct("sip:a@h", -1)), p)
		if bs[0].Expires != int32(requested) {
			t.Errorf("Expires %d under a minimum of 7200: granted %d, want %d", requested, bs[0].Expires, requested)
		}
	}
	_, err := New(1, nil).Register(req("c", 1, 3599, 0, ct("sip:a@h", -1)), p)
	var ite *IntervalTooBriefError
	if !errors.As(err, &ite) || ite.MinExpires != 7200 {
		t.Errorf("Expires 3599 under a minimum of 7200: err = %v, want IntervalTooBriefError{7200}", err)
	}
}

func TestDefaultBelowMinIsGranted(t *testing.T) {
	p := pol()
	p.DefaultExpires = 30 // a default is not a requested interval: never 423
	bs := mustRegister(t, New(1, nil), req("c", 1, -1, 0, ct("sip:a@h", -1)), p)
	if bs[0].Expires != 30 {
		t.Fatalf("got %d", bs[0].Expires)
	}
}

func TestExpiresZeroRemovesOne(t *testing.T) {
	tb := New(4, nil)
	mustRegister(t, tb, req("c", 1, 3600, 0, ct("sip:a@10.0.0.1", -1), ct("sip:b@10.0.0.2", -1)), pol())
	// 0 is allowed although below MinExpires; via param and via header.
	bs := mustRegister(t, tb, req("c", 2, 3600, 10, ct("sip:a@10.0.0.1", 0)), pol())
	if uris(bs) != "sip:b@10.0.0.2" {
		t.Fatalf("after param 0: %s", uris(bs))
	}
	bs = mustRegister(t, tb, req("c", 3, 0, 20, ct("sip:B@10.0.0.2", -1), ct("sip:b@10.0.0.2", -1)), pol())
	if len(bs) != 0 {
		t.Fatalf("after header 0: %s", uris(bs))
	}
	if a, b := tb.Len(); a != 0 || b != 0 {
		t.Fatalf("Len = %d,%d", a, b)
	}
	// Removing an unknown contact is a no-op.
	if bs := mustRegister(t, tb, req("c", 4, 0, 30, ct("sip:z@h", -1)), pol()); len(bs) != 0 {
		t.Fatal(bs)
	}
	if a, _ := tb.Len(); a != 0 {
		t.Fatal("record created by a removal")
	}
}

func TestWildcard(t *testing.T) {
	setup := func() (*Table, *counter) {
		tb, ch := watched(4)
		mustRegister(t, tb, req("c1", 10, 3600, 0, ct("sip:a@h", -1)), pol())
		mustRegister(t, tb, req("c2", 5, 3600, 0, ct("sip:b@h", -1)), pol())
		ch.reset()
		return tb, ch
	}
	wc := func(callID string, cseq uint32, hdr int64, cs ...ContactUpdate) Request {
		r := req(callID, cseq, hdr, 100, cs...)
		r.Wildcard = true
		return r
	}
	tests := []struct {
		name    string
		r       Request
		err     error
		wantLen int
	}{
		{"other call-id removes all", wc("c3", 1, 0), nil, 0},
		{"same call-id higher cseq", wc("c1", 11, 0), nil, 0},
		{"same call-id equal cseq fails whole request", wc("c1", 10, 0), ErrOutOfOrder, 2},
		{"same call-id lower cseq fails whole request", wc("c2", 4, 0), ErrOutOfOrder, 2},
		{"no Expires header", wc("c3", 1, -1), ErrBadWildcard, 2},
		{"Expires not 0", wc("c3", 1, 3600), ErrBadWildcard, 2},
		{"with another contact", wc("c3", 1, 0, ct("sip:x@h", -1)), ErrBadWildcard, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, ch := setup()
			before := tb.Snapshot(aor1)
			bs, err := tb.Register(tt.r, pol())
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if len(bs) != 0 {
				t.Fatalf("returned %s", uris(bs))
			}
			after := tb.Lookup(aor1, at(100))
			if len(after) != tt.wantLen {
				t.Fatalf("left %s", uris(after))
			}
			if tt.err != nil && !sameBindings(before, tb.Snapshot(aor1)) {
				t.Fatal("failed request changed the table")
			}
			if got, want := ch.take(aor1), map[bool]int{true: 1, false: 0}[tt.wantLen == 0]; got != want {
				t.Fatalf("OnChange %d times, want %d", got, want)
			}
		})
	}
	// Wildcard on an unknown AOR succeeds and does nothing.
	if _, err := New(1, nil).Register(wc("c", 1, 0), pol()); err != nil {
		t.Fatal(err)
	}
	// An expired binding cannot block a wildcard.
	tb := New(1, nil)
	mustRegister(t, tb, req("c1", 10, 60, 0, ct("sip:a@h", -1)), pol())
	r := wc("c1", 1, 0)
	r.Now = at(61)
	if _, err := tb.Register(r, pol()); err != nil {
		t.Fatal(err)
	}
}

func TestOrdering(t *testing.T) {
	const u = "sip:1001@10.0.0.1:5060"
	tests := []struct {
		name       string
		r          Request
		err        error
		wantCallID string
		wantReg    int // RegisteredAt, seconds after t0
		wantExpAt  int
	}{
		{"higher cseq refreshes", req("c1", 6, 600, 100, ct(u, -1)), nil, "c1", 0, 700},
		{"equal cseq refused", req("c1", 5, 600, 100, ct(u, -1)), ErrOutOfOrder, "c1", 0, 3600},
		{"lower cseq refused", req("c1", 4, 600, 100, ct(u, -1)), ErrOutOfOrder, "c1", 0, 3600},
		{"lower cseq removal refused", req("c1", 4, 0, 100, ct(u, -1)), ErrOutOfOrder, "c1", 0, 3600},
		{"new call-id replaces, even with lower cseq", req("c2", 1, 600, 100, ct(u, -1)), nil, "c2", 100, 700},
		{"uri compared per RFC", req("c1", 6, 600, 100, ct("SIP:1001@10.0.0.1:5060;ob", -1)), nil, "c1", 0, 700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := New(4, nil)
			mustRegister(t, tb, req("c1", 5, -1, 0, ct(u, -1)), pol())
			before := tb.Snapshot(aor1)
			bs, err := tb.Register(tt.r, pol())
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				if !sameBindings(before, tb.Snapshot(aor1)) {
					t.Fatal("refused request changed the table")
				}
				bs = tb.Lookup(aor1, at(100))
			}
			if len(bs) != 1 || bs[0].CallID != tt.wantCallID || !bs[0].RegisteredAt.Equal(at(tt.wantReg)) || !bs[0].ExpiresAt.Equal(at(tt.wantExpAt)) {
				t.Fatalf("got %s", dump(bs))
			}
		})
	}
}

func TestExpiredBindingDoesNotOrder(t *testing.T) {
	tb := New(1, nil)
	mustRegister(t, tb, req("c1", 5, 60, 0, ct("sip:a@h", -1)), pol())
	// Past its expiry the binding is gone for §10.3 purposes: a lower CSeq is a new binding.
	bs := mustRegister(t, tb, req("c1", 1, 60, 60, ct("sip:a@h", -1)), pol())
	if len(bs) != 1 || bs[0].CSeq != 1 || !bs[0].RegisteredAt.Equal(at(60)) {
		t.Fatal(dump(bs))
	}
}

func TestDuplicateContactLastWins(t *testing.T) {
	tb := New(1, nil)
	bs := mustRegister(t, tb, req("c", 1, -1, 0, ct("sip:a@h", 600), ct("sip:a@H", 900)), pol())
	if len(bs) != 1 || bs[0].URI != "sip:a@H" || bs[0].Expires != 900 {
		t.Fatal(dump(bs))
	}
	bs = mustRegister(t, tb, req("c", 2, -1, 0, ct("sip:a@h", 0), ct("sip:a@h", 300)), pol())
	if len(bs) != 1 || bs[0].Expires != 300 {
		t.Fatal(dump(bs))
	}
	bs = mustRegister(t, tb, req("c", 3, -1, 0, ct("sip:a@h", 300), ct("sip:a@h", 0)), pol())
	if len(bs) != 0 {
		t.Fatal(dump(bs))
	}
}

func TestAtomicity(t *testing.T) {
	tests := []struct {
		name string
		r    Request
		p    func(*Policy)
		err  error
	}{
		{"good contact + out-of-order contact", req("c1", 3, 600, 50, ct("sip:new@h", -1), ct("sip:a@h", -1)), nil, ErrOutOfOrder},
		{"out-of-order contact first", req("c1", 3, 600, 50, ct("sip:a@h", 0), ct("sip:new@h", -1)), nil, ErrOutOfOrder},
		{"good contact + too brief contact", req("c9", 1, 600, 50, ct("sip:new@h", -1), ct("sip:b@h", 5)), nil, &IntervalTooBriefError{}},
		{"too many under Reject", req("c9", 1, 600, 50, ct("sip:b@h", 0), ct("sip:n1@h", -1), ct("sip:n2@h", -1)),
			func(p *Policy) { p.MaxContacts = 2; p.OnMaxContacts = Reject }, ErrTooManyContacts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, ch := watched(4)
			mustRegister(t, tb, req("c1", 5, 3600, 0, ct("sip:a@h", -1), ct("sip:b@h", -1)), pol())
			ch.reset()
			p := pol()
			if tt.p != nil {
				tt.p(&p)
			}
			before := tb.Snapshot(aor1)
			_, err := tb.Register(tt.r, p)
			var ite *IntervalTooBriefError
			if !(errors.Is(err, tt.err) || errors.As(tt.err, &ite) && errors.As(err, &ite)) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !sameBindings(before, tb.Snapshot(aor1)) {
				t.Fatalf("table changed: %s", dump(tb.Snapshot(aor1)))
			}
			if len(ch.n) != 0 {
				t.Fatalf("OnChange fired: %v", ch.n)
			}
			if a, b := tb.Len(); a != 1 || b != 2 {
				t.Fatalf("Len %d %d", a, b)
			}
		})
	}
}

func TestMaxContactsReplaceOldest(t *testing.T) {
	tests := []struct {
		name  string
		steps []Request
		max   int // request override, 0 = policy (3)
		want  string
	}{
		{"fourth replaces oldest", []Request{
			req("ca", 1, -1, 0, ct("sip:a@h", -1)),
			req("cb", 1, -1, 1, ct("sip:b@h", -1)),
			req("cc", 1, -1, 2, ct("sip:c@h", -1)),
			req("cd", 1, -1, 3, ct("sip:d@h", -1)),
		}, 0, "sip:b@h,sip:c@h,sip:d@h"},
		{"refresh keeps RegisteredAt so the oldest is still dropped", []Request{
			req("ca", 1, -1, 0, ct("sip:a@h", -1)),
			req("cb", 1, -1, 1, ct("sip:b@h", -1)),
			req("cc", 1, -1, 2, ct("sip:c@h", -1)),
			req("ca", 2, -1, 3, ct("sip:a@h", -1)), // refresh a: still registered at 0
			req("cd", 1, -1, 4, ct("sip:d@h", -1)),
		}, 0, "sip:b@h,sip:c@h,sip:d@h"},
		{"bindings the request refreshes are never dropped", []Request{
			req("ca", 1, -1, 0, ct("sip:a@h", -1)),
			req("cb", 1, -1, 1, ct("sip:b@h", -1)),
			req("cc", 1, -1, 2, ct("sip:c@h", -1)),
			req("ca", 2, -1, 3, ct("sip:a@h", -1), ct("sip:d@h", -1)),
		}, 0, "sip:a@h,sip:c@h,sip:d@h"},
		{"request alone over max keeps its last contacts", []Request{
			req("ca", 1, -1, 0, ct("sip:a@h", -1)),
			req("cx", 1, -1, 1, ct("sip:1@h", -1), ct("sip:2@h", -1), ct("sip:3@h", -1), ct("sip:4@h", -1), ct("sip:5@h", -1)),
		}, 0, "sip:3@h,sip:4@h,sip:5@h"},
		{"per-extension override", []Request{
			req("ca", 1, -1, 0, ct("sip:a@h", -1)),
			req("cb", 1, -1, 1, ct("sip:b@h", -1)),
		}, 1, "sip:b@h"},
		{"new call-id for same URI is a new registration", []Request{
			req("ca", 1, -1, 0, ct("sip:a@h", -1)),
			req("cb", 1, -1, 1, ct("sip:b@h", -1)),
			req("cc", 1, -1, 2, ct("sip:c@h", -1)),
			req("ca2", 1, -1, 3, ct("sip:a@h", -1)), // a rebooted: registered at 3 now
			req("cd", 1, -1, 4, ct("sip:d@h", -1)),
		}, 0, "sip:a@h,sip:c@h,sip:d@h"}, // b (registered at 1) is now the oldest
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := New(4, nil)
			var bs []Binding
			for _, r := range tt.steps {
				r.MaxContacts = tt.max
				bs = mustRegister(t, tb, r, pol())
			}
			if uris(bs) != tt.want {
				t.Fatalf("got %s, want %s", uris(bs), tt.want)
			}
			if !sameBindings(bs, tb.Lookup(aor1, at(10))) {
				t.Fatal("Register result differs from Lookup")
			}
		})
	}
}

func TestMaxContactsReject(t *testing.T) {
	p := pol()
	p.OnMaxContacts = Reject
	tb := New(4, nil)
	mustRegister(t, tb, req("ca", 1, -1, 0, ct("sip:a@h", -1)), p)
	mustRegister(t, tb, req("cb", 1, -1, 1, ct("sip:b@h", -1)), p)
	mustRegister(t, tb, req("cc", 1, -1, 2, ct("sip:c@h", -1)), p)
	if _, err := tb.Register(req("cd", 1, -1, 3, ct("sip:d@h", -1)), p); !errors.Is(err, ErrTooManyContacts) {
		t.Fatalf("err = %v", err)
	}
	// Refreshing and swapping (remove one, add one) stay within the limit.
	mustRegister(t, tb, req("ca", 2, -1, 4, ct("sip:a@h", -1)), p)
	bs := mustRegister(t, tb, req("cb", 2, -1, 5, ct("sip:b@h", 0), ct("sip:d@h", -1)), p)
	if uris(bs) != "sip:a@h,sip:c@h,sip:d@h" {
		t.Fatal(uris(bs))
	}
	// Limit lowered below the current count: refreshes still pass, additions do not.
	r := req("ca", 3, -1, 6, ct("sip:a@h", -1))
	r.MaxContacts = 1
	if bs := mustRegister(t, tb, r, p); len(bs) != 3 {
		t.Fatal(uris(bs))
	}
	r = req("ce", 1, -1, 7, ct("sip:e@h", -1))
	r.MaxContacts = 1
	if _, err := tb.Register(r, p); !errors.Is(err, ErrTooManyContacts) {
		t.Fatalf("err = %v", err)
	}
	// A first REGISTER listing more than the limit.
	if _, err := New(1, nil).Register(req("x", 1, -1, 0, ct("sip:1@h", -1), ct("sip:2@h", -1), ct("sip:3@h", -1), ct("sip:4@h", -1)), p); !errors.Is(err, ErrTooManyContacts) {
		t.Fatalf("err = %v", err)
	}
}

func TestQuery(t *testing.T) {
	tb, ch := watched(4)
	mustRegister(t, tb, req("c", 1, 600, 0, ct("sip:a@h", -1)), pol())
	mustRegister(t, tb, req("c", 2, 60, 0, ct("sip:b@h", -1)), pol())
	ch.reset()
	before := tb.Snapshot(aor1)
	// A query ignores the Expires header and the Call-ID/CSeq (even a lower CSeq).
	bs := mustRegister(t, tb, req("c", 1, 1, 30), pol())
	if uris(bs) != "sip:a@h,sip:b@h" || !sameBindings(before, tb.Snapshot(aor1)) || len(ch.n) != 0 {
		t.Fatalf("query: %s", dump(bs))
	}
	bs = mustRegister(t, tb, req("c", 1, -1, 60), pol())
	if uris(bs) != "sip:a@h" {
		t.Fatalf("query after expiry: %s", uris(bs))
	}
	if bs := mustRegister(t, New(1, nil), req("c", 1, -1, 0), pol()); bs != nil {
		t.Fatal(bs)
	}
}

// A refresh that changes only the Contact's q is a change: the Extension status
// lists q and other replicas fork by it. A refresh with the same q is not.
func TestChangeOfQAloneIsAChange(t *testing.T) {
	tb, ch := watched(1)
	withQ := func(n int) ContactUpdate { c := ct("sip:a@h", -1); c.Q = QOf(n); return c }
	mustRegister(t, tb, req("c1", 1, 3600, 0, withQ(500)), pol())
	ch.reset()
	mustRegister(t, tb, req("c1", 2, 3600, 0, withQ(500)), pol())
	if got := ch.take(aor1); got != 0 {
		t.Fatalf("same q: OnChange %d times, want 0", got)
	}
	mustRegister(t, tb, req("c1", 3, 3600, 0, withQ(800)), pol())
	if got := ch.take(aor1); got != 1 {
		t.Fatalf("new q: OnChange %d times, want 1", got)
	}
	if bs := tb.Snapshot(aor1); len(bs) != 1 || bs[0].Q != QOf(800) {
		t.Fatalf("bindings %+v, want q=0.8", bs)
	}
}
