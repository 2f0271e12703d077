package digest

import (
	"errors"
	"testing"
	"time"
)

// A token made by one replica passes at another with the same key, for the same
// label and fields, within its age; any other label, field, key, a flipped byte or
// an old token is refused.
func TestTokenAcrossReplicas(t *testing.T) {
	a := NewReplicaNonceSigner(keyA, 0)
	b := NewReplicaNonceSigner(keyA, 0)
	other := NewNonceSigner(keyB, 0)
	const label, age = "flow relay", 30 * time.Second
	fields := []string{"1001@acme.example", "INVITE", "call-1"}
	tok := a.Token(label, t0, fields...)
	if len(tok) != TokenLen {
		t.Fatalf("token %q has length %d, TokenLen %d", tok, len(tok), TokenLen)
	}
	flipped := []byte(tok)
	flipped[TokenLen/2] ^= 1

	tests := []struct {
		name   string
		signer *NonceSigner
		token  string
		label  string
		fields []string
		now    time.Time
		want   error // nil, ErrTokenInvalid or ErrTokenExpired
	}{
		{"other replica, same key", b, tok, label, fields, t0.Add(time.Second), nil},
		{"at the end of its age", b, tok, label, fields, t0.Add(age), nil},
		{"just past its age", b, tok, label, fields, t0.Add(age + time.Millisecond), ErrTokenExpired},
		{"maker's clock slightly ahead", b, tok, label, fields, t0.Add(-MaxClockSkew), nil},
		{"made in the future", b, tok, label, fields, t0.Add(-MaxClockSkew - time.Millisecond), ErrTokenExpired},
		{"other key", other, tok, label, fields, t0, ErrTokenInvalid},
		{"other label", b, tok, "other", fields, t0, ErrTokenInvalid},
		{"other AOR", b, tok, label, []string{"1002@acme.example", "INVITE", "call-1"}, t0, ErrTokenInvalid},
		{"other Call-ID", b, tok, label, []string{"1001@acme.example", "INVITE", "call-2"}, t0, ErrTokenInvalid},
		{"fields run together", b, tok, label, []string{"1001@acme.exampleINVITE", "", "call-1"}, t0, ErrTokenInvalid},
		{"a field left out", b, tok, label, fields[:2], t0, ErrTokenInvalid},
		{"a byte flipped", b, string(flipped), label, fields, t0, ErrTokenInvalid},
		{"empty", b, "", label, fields, t0, ErrTokenInvalid},
		{"truncated", b, tok[:TokenLen-1], label, fields, t0, ErrTokenInvalid},
		{"not base64url", b, "+" + tok[1:], label, fields, t0, ErrTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.signer.CheckToken(tt.token, tt.label, tt.now, age, tt.fields...)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("CheckToken = %v, want %v", err, tt.want)
			}
		})
	}
}

// After a key rotation, a token of the previous key still passes; two rotations
// later it does not.
func TestTokenKeyRotation(t *testing.T) {
	s := NewNonceSigner(keyA, 0)
	old := s.Token("l", t0, "f")
	s.SetKey(keyB)
	if err := s.CheckToken(old, "l", t0, time.Minute, "f"); err != nil {
		t.Errorf("token of the previous key refused: %v", err)
	}
	s.SetKey([]byte("a third key, long enough to use!"))
	if err := s.CheckToken(old, "l", t0, time.Minute, "f"); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("token of a key two rotations back: %v, want invalid", err)
	}
}
