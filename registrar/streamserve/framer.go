package streamserve

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// minBuffer is what a connection's buffer starts at, and goes back to after a
// message that grew it past largeBuffer: an idle connection keeps little, and a
// connection of INVITEs with their SDP does not allocate for each.
const (
	minBuffer   = 2048
	largeBuffer = 8192
)

// unitKind says what the framer found next in the stream.
type unitKind int

const (
	// unitMessage is a whole message: its header section and its body.
	unitMessage unitKind = iota
	// unitPing is a CRLF CRLF between messages, a keep-alive to answer with one
	// CRLF (RFC 5626 §3.5.1).
	unitPing
	// unitNoLength is the header section of a message without Content-Length,
	// which a stream must carry (RFC 3261 §18.3, §20.14); it is taken to have no
	// body, as it most likely has none.
	unitNoLength
	// unitTooLarge is the header section of a message over the largest size;
	// its body is skipped.
	unitTooLarge
	// unitBadLength is the header section of a message whose Content-Length is no
	// number: where the next message starts is lost, and next fails from then on.
	unitBadLength
)

// unit is one thing found in the stream; data is valid until the next call of
// next.
type unit struct {
	kind unitKind
	data []byte
}

var (
	errHeadersTooLong = errors.New("no end of the header section within the largest message")
	errBadLength      = errors.New("a Content-Length that is no number: the next message cannot be found")
)

var (
	crlf     = []byte("\r\n")
	crlfCRLF = []byte("\r\n\r\n")
)

// framer cuts a SIP stream into messages as sipgo's stream parser does (package
// doc), so that each can be judged before sipgo sees it.
type framer struct {
	r io.Reader
	// limit is the largest message passed on, header section and body: sipgo's
	// stream parser refuses larger ones (sip.ParseMaxMessageLength).
	limit int
	buf   []byte
	// buf[pos:end] is read and not yet framed.
	pos, end int
	// skip counts the body bytes of a message too large still to discard.
	skip uint64
	// lost is set once where the next message starts is unknown.
	lost error
	// between holds the last CR and LF bytes between messages, to spot a ping.
	between uint32
}

// next returns the next unit of the stream, or the error that ended it.
func (f *framer) next() (unit, error) {
	if f.lost != nil {
		return unit{}, f.lost
	}
	if len(f.buf) > largeBuffer && f.end-f.pos <= minBuffer {
		// A large message passed: keep only the room an idle connection needs.
		small := make([]byte, minBuffer)
		f.end, f.pos, f.buf = copy(small, f.buf[f.pos:f.end]), 0, small
	}
	if err := f.discard(); err != nil {
		return unit{}, err
	}
	if ping, err := f.skipBetween(); ping || err != nil {
		return unit{kind: unitPing}, err
	}
	headerLen, err := f.headerSection()
	if err != nil {
		return unit{}, err
	}
	header := f.buf[f.pos : f.pos+headerLen]
	length, found, valid := contentLength(header)
	switch {
	case !found:
		f.pos += headerLen
		return unit{kind: unitNoLength, data: header}, nil
	case !valid:
		f.pos += headerLen
		f.lost = errBadLength
		return unit{kind: unitBadLength, data: header}, nil
	case uint64(headerLen)+length > uint64(f.limit):
		f.pos += headerLen
		f.skip = length
		return unit{kind: unitTooLarge, data: header}, nil
	}
	total := headerLen + int(length)
	for f.end-f.pos < total {
		if err := f.fill(); err != nil {
			return unit{}, err
		}
	}
	msg := f.buf[f.pos : f.pos+total]
	f.pos += total
	return unit{kind: unitMessage, data: msg}, nil
}

// discard drops the rest of the body of a message too large.
func (f *framer) discard() error {
	for f.skip > 0 {
		if f.pos == f.end {
			if err := f.fill(); err != nil {
				return err
			}
		}
		n := min(f.skip, uint64(f.end-f.pos))
		f.pos += int(n)
		f.skip -= n
	}
	return nil
}

// skipBetween skips the CRs and LFs before a message (RFC 3261 §7.5) and reports
// a ping: CRLF CRLF among them. It returns once a message begins, or at a ping.
func (f *framer) skipBetween() (ping bool, err error) {
	for {
		for f.pos < f.end {
			c := f.buf[f.pos]
			if c != '\r' && c != '\n' {
				f.between = 0
				return false, nil
			}
			f.pos++
			if f.between = f.between<<8 | uint32(c); f.between == 0x0d0a0d0a {
				f.between = 0
				return true, nil
			}
		}
		if err := f.fill(); err != nil {
			return false, err
		}
	}
}

// headerSection returns the length of the message's header section, its empty
// line included, reading until it is all in.
func (f *framer) headerSection() (int, error) {
	searched := 0
	for {
		if i := bytes.Index(f.buf[f.pos+searched:f.end], crlfCRLF); i >= 0 {
			return searched + i + len(crlfCRLF), nil
		}
		if f.end-f.pos >= f.limit {
			f.lost = errHeadersTooLong
			return 0, f.lost
		}
		searched = max(0, f.end-f.pos-len(crlfCRLF)+1)
		if err := f.fill(); err != nil {
			return 0, err
		}
	}
}

// fill reads more of the stream after what buf holds, moving what is not framed
// yet to its front first and growing it up to the largest message.
func (f *framer) fill() error {
	if f.pos > 0 {
		f.end = copy(f.buf, f.buf[f.pos:f.end])
		f.pos = 0
	}
	if f.end == len(f.buf) {
		grown := make([]byte, min(max(2*len(f.buf), minBuffer), f.limit))
		if len(grown) == len(f.buf) {
			// Only a header section that never ends fills it (headerSection).
			f.lost = errHeadersTooLong
			return f.lost
		}
		copy(grown, f.buf[:f.end])
		f.buf = grown
	}
	for {
		n, err := f.r.Read(f.buf[f.end:])
		f.end += n
		switch {
		case n > 0:
			return nil // an error comes again with the next read
		case err != nil:
			return err
		}
	}
}

// contentLength reads the Content-Length of a header section as sipgo does: the
// last of the headers named Content-Length or l, any case, folded lines joined,
// a decimal number below 2³². found is false when there is none; valid is false
// when the last one is no such number.
func contentLength(header []byte) (length uint64, found, valid bool) {
	_, rest, _ := bytes.Cut(header, crlf) // the start line
	var value []byte
	inLength := false // the last line was a Content-Length: a folded line goes on
	first := true     // sipgo folds into a header line, never into the start line
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, crlf)
		if len(line) == 0 {
			break
		}
		if !first && (line[0] == ' ' || line[0] == '\t') {
			if inLength {
				value = append(append(value, ' '), line...)
			}
			continue
		}
		first = false
		name, v, ok := bytes.Cut(line, []byte(":"))
		name = bytes.TrimSpace(name)
		inLength = ok && (bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("l")))
		if inLength {
			found, value = true, append(value[:0], v...)
		}
	}
	if !found {
		return 0, false, false
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(value)), 10, 32)
	return n, true, err == nil
}
