// Package throttle blocks keys, a source address or an address-of-record, that fail
// digest authentication too often: brute-force and flood control for the registrar.
//
// Defaults (DefaultMaxFailures, DefaultWindow, DefaultBlockFor): 10 failures in 20 s
// block for 60 s. For comparison, Kamailio's pike module flags about 30 requests in 2 s
// from one address and its ban tables expire after 300 s; Twilio allows 5 REGISTERs a
// second per address. Those limit requests; this counts failures, a much stronger
// signal, so the threshold sits lower. A device with a wrong password fails once per
// refresh or retry, far below 10 in 20 s, even with a handful of them behind one NAT
// address, while a password guesser is cut to 10 guesses every 80 s per key. The
// block is shorter than Kamailio's ban because the key may be shared (NAT) or, over
// UDP, spoofed to lock out a victim: a minute stops guessing just as well and does
// less collateral damage.
//
// Keyed by AOR it stops guessing spread over many addresses, at the price of letting
// anyone lock an account out for BlockFor; keyed by address it does not. Callers
// usually run one Limiter of each.
package throttle
