package rawreply

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

const invite = "INVITE sip:1001@acme.example SIP/2.0\r\n" +
	"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK-1\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:1002@acme.example>;tag=a1\r\n" +
	"To: <sip:1001@acme.example>\r\n" +
	"Call-ID: c1@x\r\n" +
	"CSeq: 7 INVITE\r\n" +
	"Contact: <sip:1002@df7jal23ls0d.invalid;transport=ws>\r\n" +
	"Content-Length: 0\r\n\r\n"

// Any request but an ACK is answered, whatever its method: an INVITE with a Contact
// the parser refuses gets the 400 naming it, with its own Via (and the source as
// received, its sent-by being a name), From, Call-ID and CSeq; an ACK so written,
// and a response, get nothing.
func TestBadRequestAnswersRequestsButACK(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:40001")
	bad := strings.Replace(invite, "transport=ws>", "transport=ws", 1)
	reason, ok := HeaderReason([]byte(bad))
	if !ok || reason != "Malformed Contact Header" {
		t.Fatalf("HeaderReason = %q, %v; want Malformed Contact Header", reason, ok)
	}
	var out bytes.Buffer
	if _, ok := BadRequest(&out, []byte(bad), from, reason); !ok {
		t.Fatal("the INVITE was not answered")
	}
	res := out.String()
	for _, want := range []string{
		"SIP/2.0 400 Malformed Contact Header\r\n",
		"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK-1;received=192.0.2.7\r\n",
		"From: <sip:1002@acme.example>;tag=a1\r\n",
		"Call-ID: c1@x\r\nCSeq: 7 INVITE\r\n",
	} {
		if !strings.Contains(res, want) {
			t.Errorf("no %q in the 400:\n%s", want, res)
		}
	}
	for name, data := range map[string]string{
		"an ACK":     strings.NewReplacer("INVITE sip", "ACK sip", "7 INVITE", "7 ACK").Replace(bad),
		"a response": strings.Replace(bad, "INVITE sip:1001@acme.example SIP/2.0", "SIP/2.0 200 OK", 1),
	} {
		out.Reset()
		if _, ok := BadRequest(&out, []byte(data), from, reason); ok || out.Len() != 0 {
			t.Errorf("%s was answered:\n%s", name, out.String())
		}
	}
}
