package location

// RFC 5626 (Outbound) keys a binding by the device's instance and registration
// flow instead of its Contact URI: a contact with both +sip.instance and reg-id
// names the binding of that AOR with the same instance and reg-id, whatever its
// URI. A REGISTER of that pair over a new flow (a new connection, or a new UDP
// source) thus replaces the older flow's binding (§6), under the usual Call-ID and
// CSeq rules of RFC 3261 §10.3; a device's two flows (reg-id 1 and 2) are two
// bindings, even with one Contact URI. A contact without both is matched by URI,
// as RFC 3261 does, and only against bindings that are not outbound flows: a
// plain REGISTER does not take over a flow.

// Outbound reports whether the binding is an outbound flow: requests to it go
// over the connection or UDP 5-tuple it registered on, never to its Contact.
func (b Binding) Outbound() bool { return b.Instance != "" && b.RegID > 0 }

// matching returns the index of the tentative binding c names, -1 for none.
func matching(sc []entry, c *ContactUpdate) int {
	for k := range sc {
		if names(&sc[k].Binding, c.URI, c.Instance, c.RegID) {
			return k
		}
	}
	return -1
}

// names reports whether a contact (uri, instance, regID) names binding b.
func names(b *Binding, uri, instance string, regID int32) bool {
	if instance != "" && regID > 0 {
		return b.Outbound() && b.RegID == regID && b.Instance == instance
	}
	return !b.Outbound() && URIEqual(b.URI, uri)
}
