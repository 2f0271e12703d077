package udpfront

import (
	"hash/maphash"
	"net/netip"
)

// datagramSums identifies a datagram from its source by a 64-bit hash of its bytes
// and the source's address and port, with a seed of the process's own: a
// retransmission is the same bytes from the same address (RFC 3261 §17.1.2.2), and
// anything else, a new CSeq, branch or nonce count, is a new request. The response
// cache finds a retransmission's answer by it before any parse, and the accepted
// set remembers the REGISTERs answered 200 OK by it.
type datagramSums struct{ seed maphash.Seed }

func newDatagramSums() datagramSums { return datagramSums{seed: maphash.MakeSeed()} }

func (d datagramSums) of(data []byte, from netip.AddrPort) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	_, _ = h.Write(data)
	a := from.Addr().As16()
	_, _ = h.Write(a[:])
	p := from.Port()
	_ = h.WriteByte(byte(p >> 8))
	_ = h.WriteByte(byte(p))
	return h.Sum64()
}
