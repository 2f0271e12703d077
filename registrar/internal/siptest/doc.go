// Package siptest is the tests' SIP phone: a device written by hand for what SIPp,
// baresip and linphone cannot express (a nonce carried to another replica, a
// request answered just so, sizes on the wire). It speaks over a Transport (UDP,
// TCP and TLS here; WebSocket plugs in the same way), registers and answers the
// challenge with registrar/digest, keeps what it received for the test to expect
// and answer, and waits with deadlines, never sleeps.
//
// It is test support: only _test.go files import it.
package siptest
