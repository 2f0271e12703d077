package registrar

import (
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// watchMovedBindings has every Extension the watch delivers compared with the
// bindings this replica holds (status.Writer.Reconcile): a device that
// reconnected to another replica is dropped here, so that requests reach it
// there instead of failing on its dead flow (430), and our status writes never
// take its entry back. Called once the proxy, which knows our connections, runs.
func (r *Replica) watchMovedBindings() {
	p := r.proxy
	r.exts.OnBindings(func(aor string, bs []sipv1.Binding) { r.writer.Reconcile(aor, bs, p.FlowAlive) })
}
