package streamserve

import (
	"slices"

	"github.com/emiago/sipgo/sip"
)

// sipgo skips a read that is all NUL bytes (transport_tcp.go, readConnection),
// wherever its parser is, and reads a stream TransportBufferReadSize bytes at a
// time. A message longer than that reaches it in two reads; were the second all
// NUL bytes (a binary body padded with zeros), sipgo would lose it, wait for the
// body it still expects, and take the start of the next message for it: the
// connection's messages would be cut wrongly from then on. So no read of ours is
// made only of the NUL bytes that end a message (handOn), and a message that
// cannot be handed on so (over sipgo's read size of NUL bytes at its end) is
// refused (deliverable).

// readSize is how much sipgo asks for in each read of a stream.
var readSize = int(sip.TransportBufferReadSize)

// handOn returns how much of out, the rest of a message, a read of room bytes
// hands on: as much as fits, unless what would be left is all NUL bytes, which
// then go in the next read behind the last byte that is not, when that read
// can hold them.
func handOn(out []byte, room int) int {
	if len(out) <= room {
		return len(out)
	}
	last := lastNotNUL(out)
	if last > firstNotNUL(out) && last < room && last >= len(out)-room {
		return last
	}
	return room
}

// deliverable reports whether handOn can give msg to sipgo in reads that each
// hold a byte that is not NUL: its first read starts with the start line, and
// its last must reach back to the last such byte.
func deliverable(msg []byte) bool {
	return len(msg) <= readSize || lastNotNUL(msg) >= len(msg)-readSize
}

func lastNotNUL(b []byte) int {
	for i, c := range slices.Backward(b) {
		if c != 0 {
			return i
		}
	}
	return -1
}

func firstNotNUL(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return len(b)
}
