package streamserve

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/emiago/sipgo/sip"
)

// request is a MESSAGE with body, and extra header lines before Content-Length.
func request(n int, body string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "MESSAGE sip:1001@acme.example SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-%d\r\n"+
		"From: <sip:1002@acme.example>;tag=a%d\r\nTo: <sip:1001@acme.example>\r\n"+
		"Call-ID: call-%d@192.0.2.1\r\nCSeq: %d MESSAGE\r\nMax-Forwards: 70\r\n", n, n, n, n)
	for _, line := range extra {
		b.WriteString(line + "\r\n")
	}
	if !strings.Contains(strings.Join(extra, "\n"), "Length:") && !strings.HasPrefix(strings.Join(extra, "\n"), "l:") {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// frames reads the units of stream through a reader made by wrap, with a limit
// of limit bytes, until the stream ends; each unit as its kind and data.
func frames(t *testing.T, stream string, wrap func(io.Reader) io.Reader, limit int) ([]string, error) {
	t.Helper()
	f := framer{r: wrap(strings.NewReader(stream)), limit: limit}
	var got []string
	for {
		u, err := f.next()
		if err != nil {
			return got, err
		}
		got = append(got, fmt.Sprintf("%d:%s", u.kind, u.data))
	}
}

// wraps are ways a stream arrives: all at once, a byte per read, in halves.
var wraps = map[string]func(io.Reader) io.Reader{
	"whole":    func(r io.Reader) io.Reader { return r },
	"one byte": iotest.OneByteReader,
	"halves":   iotest.HalfReader,
}

func TestFramerCutsTheStreamAsContentLengthSays(t *testing.T) {
	one, two := request(1, "hello"), request(2, "")
	folded := request(3, "abc", "Content-Length:\r\n 3")
	compact := request(4, "abcd", "l: 4")
	// sipgo takes the last Content-Length, and so do we.
	twice := request(5, "xy", "Content-Length: 9", "Content-Length: 2")
	tooLarge := request(6, strings.Repeat("z", 600))
	limit := 512
	for _, tc := range []struct {
		name, stream string
		want         []string
		err          error
	}{
		{"two messages back to back", one + two, []string{"0:" + one, "0:" + two}, io.EOF},
		{"CRLFs before, a ping between", "\r\n" + one + "\r\n\r\n" + two + "\r\n",
			[]string{"0:" + one, "1:", "0:" + two}, io.EOF},
		{"two pings", "\r\n\r\n\r\n\r\n", []string{"1:", "1:"}, io.EOF},
		{"a folded Content-Length", folded + one, []string{"0:" + folded, "0:" + one}, io.EOF},
		{"a compact Content-Length", compact + one, []string{"0:" + compact, "0:" + one}, io.EOF},
		{"two Content-Lengths", twice + one, []string{"0:" + twice, "0:" + one}, io.EOF},
		{"no Content-Length: no body", strings.Replace(two, "Content-Length: 0\r\n", "", 1) + one,
			[]string{"2:" + strings.Replace(two, "Content-Length: 0\r\n", "", 1), "0:" + one}, io.EOF},
		{"over the limit: the body skipped", tooLarge + one,
			[]string{"3:" + tooLarge[:strings.Index(tooLarge, "\r\n\r\n")+4], "0:" + one}, io.EOF},
		{"a Content-Length that is no number", strings.Replace(one, "Content-Length: 5", "Content-Length: five", 1) + two,
			[]string{"4:" + strings.Replace(one, "Content-Length: 5\r\n\r\nhello", "Content-Length: five\r\n\r\n", 1)}, errBadLength},
		{"a header section that never ends", "MESSAGE sip:x SIP/2.0\r\n" + strings.Repeat("X-Pad: 0123456789\r\n", 40), nil, errHeadersTooLong},
		{"a body cut short", one[:len(one)-2], nil, io.EOF},
	} {
		for how, wrap := range wraps {
			t.Run(tc.name+", "+how, func(t *testing.T) {
				got, err := frames(t, tc.stream, wrap, limit)
				if !errors.Is(err, tc.err) {
					t.Errorf("ended with %v, want %v", err, tc.err)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Errorf("units:\n%q\nwant\n%q", got, tc.want)
				}
			})
		}
	}
}

// FuzzFramerAgreesWithSipgo: whatever the stream holds, framing it never panics,
// gives the same units however the reads cut it, and gives the messages sipgo's
// stream parser gives, as long as sipgo's parser takes them.
func FuzzFramerAgreesWithSipgo(f *testing.F) {
	f.Add([]byte(request(1, "hello") + "\r\n\r\n" + request(2, "")))
	f.Add([]byte(request(3, "abc", "Content-Length:\r\n 3") + request(4, "x", "l: 1")))
	f.Add([]byte(request(5, "xy", "Content-Length: 9", "Content-Length: 2")))
	f.Add([]byte(strings.Replace(request(6, ""), "Content-Length: 0\r\n", "", 1)))
	f.Add([]byte(request(7, strings.Repeat("z", 300))))
	// A first header line led by a space is a header to sipgo, not a fold.
	f.Add([]byte(strings.Replace(strings.Replace(request(8, "abc"), "Content-Length: 3", "X-Length: none", 1),
		"\r\nVia:", "\r\n l: 3\r\nVia:", 1)))
	f.Fuzz(func(t *testing.T, stream []byte) {
		const limit = 256
		whole, wholeErr := frames(t, string(stream), wraps["whole"], limit)
		bytewise, byteErr := frames(t, string(stream), iotest.OneByteReader, limit)
		if strings.Join(whole, "|") != strings.Join(bytewise, "|") || !errors.Is(byteErr, wholeErr) {
			t.Fatalf("whole: %q (%v)\nbyte by byte: %q (%v)", whole, wholeErr, bytewise, byteErr)
		}
		// sipgo's messages, up to its first error.
		p := sip.NewParser()
		p.MaxMessageLength = limit
		ps := p.NewSIPStream()
		var theirs []string
		err := ps.ParseSIPStream(stream, func(m sip.Message) { theirs = append(theirs, m.String()) })
		var ours []string
		for _, u := range whole {
			kind, data, _ := strings.Cut(u, ":")
			if kind != "0" {
				if kind != "1" {
					break // sipgo would have closed the connection here
				}
				continue
			}
			m, perr := sip.ParseMessage([]byte(data))
			if perr != nil {
				break // sipgo's stream parser stops here too
			}
			ours = append(ours, m.String())
		}
		n := min(len(ours), len(theirs))
		for i := range n {
			// A stray CR or LF before a start line sipgo takes into the method;
			// we skip it, as the CRLFs there.
			if ours[i] != strings.TrimLeft(theirs[i], "\r\n") {
				t.Fatalf("message %d:\nours\n%q\nsipgo's\n%q", i, ours[i], theirs[i])
			}
		}
		if err == nil && len(ours) < len(theirs) {
			t.Fatalf("sipgo found %d messages, we %d", len(theirs), len(ours))
		}
		for _, u := range whole {
			if len(u)-2 > limit {
				t.Fatalf("a unit of %d bytes, over the limit", len(u)-2)
			}
		}
	})
}
