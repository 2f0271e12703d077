// Package throttle blocks keys, a source address, an address-of-record, or the pair of
// both, that fail digest authentication too often: brute-force and flood control for
// the registrar.
//
// Defaults (DefaultMaxFailures, DefaultWindow, DefaultBlockFor): 10 failures in 20 s
// block for 60 s. For comparison, Kamailio's pike module flags about 30 requests in 2 s
// from one address and its ban tables expire after 300 s; Twilio allows 5 REGISTERs a
// second per address. Those limit requests; this counts failures, a much stronger
// signal, so the threshold sits lower. A device with a wrong password fails once per
// refresh or retry, far below 10 in 20 s, even with a handful of them behind one NAT
// address, while a password guesser is cut to 10 guesses every 60 to 80 s per key. The
// block is shorter than Kamailio's ban because the key may be shared (NAT) or, over
// UDP, spoofed to lock out a victim: a minute stops guessing just as well and does
// less collateral damage.
//
// Keyed by (source, AOR) (DefaultPairConfig: 10 failures in 10 minutes block for 10
// minutes) it holds one address to 10 guesses at one extension per 10 minutes however
// it spaces them, where the source key alone allows 9 every 20 s; a device retrying a
// wrong password every minute or so reaches it, and then waits up to 10 minutes once
// its password is fixed. The registrar also reads it to tell the sources that failed
// at an AOR from those that did not (Standing.Failed).
//
// Keyed by AOR it stops guessing spread over many addresses; keyed by address it does
// not. The registrar runs one Limiter of each kind in a guard (package guard), which
// REGISTER and the proxy's caller challenges share, and which lets a spent AOR budget
// hold back only the sources that failed at that AOR, so that guessers cannot lock an
// extension's new devices out; docs/security.md measures the trade.
package throttle
