// Package registrar runs one registrar replica: it watches what the operator
// published, answers SIP, and writes the bindings it holds into Extension status.
// New builds a Replica, each part given what it works with in its constructor;
// Run serves.
//
// # Following a REGISTER
//
// A REGISTER enters at a listener New opens (listen, listenTLS). Over UDP the
// stateless front end (package udpfront, answer in front.go) parses it and calls
// register.Handler.HandleDatagram; over TCP and TLS, or over UDP with
// Config.TransactionalUDPRegister, sipgo calls register.Handler.OnRegister. Package
// register answers it without I/O (Handler.handle in register.go):
//
//   - the served domain and the extension's credential (HA1 values, never a
//     password) come from directory.Published (directory/published.go): the
//     ConfigMaps and Secrets the operator published into the registrar's namespace
//     (the operator derives them from the Extension's password Secret in
//     controllers/extension_credential.go; api/published is the format);
//   - package digest checks the answer to the challenge, and package guard whether
//     the source may try a password now;
//   - the binding goes into the replica's location table (package location,
//     Table.RegisterAppend in register.go: RFC 3261 §10.3).
//
// The table marks the AOR in a status.Changes; the status writer (package status,
// Writer.Run and write in writer.go) applies the AOR's bindings to the status of its
// Extension, which directory.Published.ExtensionOf names. When a replica starts,
// Writer.Restore reads back the bindings it wrote before.
//
// Requests of the routed methods to a registered AOR (calls, messages and
// OPTIONS by default; subscriptions and REFERs when Config.RoutedMethods names
// them) go through package proxy: proxy.Targets finds the
// bindings in this replica's table and those the other replicas wrote into status
// (directory.Extensions).
package registrar
