package siptest

import (
	"bytes"
	"fmt"
	"strings"

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

// TopBranch is the branch of req's top Via, read as the first Via line before the
// end of its header section; ok is false when that line does not parse, or holds a
// CR, LF or NUL, which sipgo's parser may take but a 400 does not copy.
func TopBranch(req []byte) (string, bool) {
	head, _, _ := bytes.Cut(req, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		name, _, _ := bytes.Cut(line, []byte(":"))
		if n := strings.ToLower(strings.TrimRight(string(name), " \t")); n != "via" && n != "v" {
			continue
		}
		hs, err := sip.HeadersParser(sip.DefaultHeadersParser()).ParseHeader(nil, line)
		if err != nil || len(hs) == 0 || bytes.ContainsAny(line, "\r\n\x00") {
			return "", false
		}
		via, _ := hs[0].(*sip.ViaHeader)
		b, _ := via.Params.Get("branch")
		return b, true
	}
	return "", false
}
