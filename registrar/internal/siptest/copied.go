package siptest

import (
	"bytes"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// CopiedFromRequest checks that the Call-ID and CSeq method res carries, where it
// has them, are the request's: the bytes of req with each CR, LF or NUL as a
// space, as a response to a malformed request copies them (package rawreply).
func CopiedFromRequest(req []byte, res *sip.Response) error {
	seen := bytes.Clone(req)
	for i, b := range seen {
		if b == '\r' || b == '\n' || b == 0 {
			seen[i] = ' '
		}
	}
	if id := res.CallID(); id != nil && !bytes.Contains(seen, []byte(id.Value())) {
		return fmt.Errorf("the response's Call-ID %q is not the request's", id.Value())
	}
	if cseq := res.CSeq(); cseq != nil && !bytes.Contains(seen, []byte(cseq.MethodName)) {
		return fmt.Errorf("the response's CSeq %q is not the request's", cseq.Value())
	}
	return nil
}
