package registrar

import (
	"context"
	"fmt"
	"time"

	"github.com/voipbin/registrar-operator/registrar/digest"
)

// The nonce key: the operator publishes it (directory.Published tells useNonceKey),
// every replica signs its challenges' nonces with it, and a replica serves SIP only
// once it has it.

// useNonceKey signs nonces with the key the operator published, when it is one.
func (r *Replica) useNonceKey(key []byte) {
	if err := digest.CheckKey(key); err != nil {
		r.log.Error(err, "ignoring the published nonce key")
		return
	}
	r.nonces.SetKey(key)
	r.keyed.Store(true)
}

// waitForNonceKey returns once the published key is in use, or ctx ends.
func (r *Replica) waitForNonceKey(ctx context.Context) error {
	if r.keyed.Load() {
		return nil
	}
	r.log.Info("waiting for the nonce key Secret the operator publishes", "namespace", r.cfg.Namespace)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !r.keyed.Load() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("while waiting for the nonce key: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// placeholderKey signs nothing that is ever accepted: it only fills the signer until
// the published key arrives, and the replica serves no SIP before then.
func placeholderKey() []byte {
	k := make([]byte, digest.MinKeyLen)
	for i := range k {
		k[i] = byte(i*31 + 7)
	}
	return k
}
