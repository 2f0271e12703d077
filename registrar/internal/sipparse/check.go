package sipparse

import "sync"

// checkers are the Parsers Check uses: one reuses its memory from parse to parse,
// so each serves one caller at a time.
var checkers = sync.Pool{New: func() any { return New() }}

// Check parses msg as sipgo's parser will and returns its error: a server that
// hands sipgo one message at a time (over a WebSocket or a TCP stream) learns
// first whether sipgo would refuse it, and so close the connection.
func Check(msg []byte) error {
	p := checkers.Get().(*Parser)
	defer checkers.Put(p)
	_, err := p.ParseSIP(msg)
	return err
}
