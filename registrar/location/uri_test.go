package location

import "testing"

func TestURIEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		// RFC 3261 §19.1.4, equivalent.
		{"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;security=on", true},
		{"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on", true},
		{"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true},
		{"sip:alice@atlanta.com?subject=project%20x&priority=urgent", "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true},
		// RFC 3261 §19.1.4, not equivalent.
		{"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP", false},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp", false},
		{"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false},
		{"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false},
		// More.
		{"SIPS:a@H", "sips:a@h", true},
		{"sip:a@h", "sips:a@h", false},
		{"sip:a:pw@h", "sip:a:PW@h", false},
		{"sip:a@h;ob", "sip:a@h", true},
		{"sip:a@h;lr=on", "sip:a@h;lr=off", false},
		{"sip:a@h;user=phone", "sip:a@h", false},
		{"sip:a@h", "sip:a@h;maddr=1.2.3.4", false},
		{"sip:a@h;ttl=1", "sip:a@h;ttl=1", true},
		{"sip:a;x@h", "sip:a;x@h", true},
		{"sip:a;x@h", "sip:a;X@h", false},
		{"sip:a@[2001:DB8::1]:5060", "sip:a@[2001:db8::1]:5060", true},
		{"sip:a@h:5060", "sip:a@h:5061", false},
		{"tel:+1234", "TEL:+1234", true},
		{"tel:+1234", "tel:+1235", false},
		{"nocolon", "NOCOLON", false},
		{"", "", true},
		{"sip:", "sip:", true},
		{"sip:%", "sip:%25", true}, // a stray % stands for itself
		{"sip:a@h?x=1", "sip:a@h", false},
		{"sip:a@h?x=1", "sip:a@h?x=1&y=2", false},
	}
	for _, tt := range tests {
		if got := URIEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("URIEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := URIEqual(tt.b, tt.a); got != tt.want {
			t.Errorf("URIEqual(%q, %q) = %v, want %v (reversed)", tt.b, tt.a, got, tt.want)
		}
	}
}

func FuzzURIEqual(f *testing.F) {
	f.Add("sip:a@h;ob", "SIP:a@H")
	f.Add("sip:a%40b@h?x=1", "sip:a@h;transport=tcp")
	f.Fuzz(func(t *testing.T, a, b string) {
		if URIEqual(a, b) != URIEqual(b, a) {
			t.Fatalf("not symmetric: %q %q", a, b)
		}
		if !URIEqual(a, a) {
			t.Fatalf("not reflexive: %q", a)
		}
	})
}

func TestURIEqualNoAlloc(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		URIEqual("sip:%61lice@atlanta.com;transport=TCP;ob?h=1", "SIP:alice@AtLanTa.CoM;Transport=tcp?h=1")
	})
	if n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
