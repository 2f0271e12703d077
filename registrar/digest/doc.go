// Package digest implements the server side of SIP digest authentication
// (RFC 2617, RFC 7616, and RFC 8760 for SHA-256 in SIP), once for the REGISTER
// handler, the proxy and the UDP front end: whether a request carries credentials
// and which answer is for our realm (request.go), the algorithms offered and the
// challenge headers of either style (algorithms.go, challenge.go), the rule binding
// an answer to the Request-URI (uri.go), verifying responses against a published
// HA1, and minting stateless nonces that every registrar replica accepts.
//
// Everything here is pure logic on the REGISTER hot path: no I/O, no goroutines, and
// the common paths do not allocate beyond the strings they return.
//
// A registrar handles a request in this order:
//
//	c, err := digest.CredentialsFor(req, realm) // ErrNoCredentials: AddChallenges; other error: 400
//	digest.URIMatches(c.URI, &req.Recipient)    // false: refused
//	nerr := signer.Check(c.Nonce, realm, now)   // ErrNonceInvalid: challenge afresh
//	digest.Verify(c, method, ha1)               // false: a failure for throttle.Limiter, challenge
//	                                            // then, ErrNonceStale: challenge with stale=true
//	counts.Use(c.Nonce, c.NonceCount(), now)    // false: a replay, challenge with stale=true
//
// Verify comes before stale=true because stale=true tells the client its password
// was right (RFC 2617 §3.2.1), and before Use so that only authenticated requests
// advance a nonce's count.
//
// Replay protection is split: nonces are signed with a key shared by the cluster,
// and the nonce-count table (NonceCounts) is per replica. A signer from
// NewNonceSigner accepts every replica's nonces, so a response captured on the wire
// could be replayed once at each other replica while its nonce lives. The registrar
// therefore uses NewReplicaNonceSigner: its nonces carry a tag of the replica (and
// process) that issued them, inside the MAC, and any other replica answers them
// with stale=true. A device that moves between replicas pays one more challenge; a
// replayed request gets nothing.
package digest
