#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 30s; the closing notes quote 10m
# runs). `make test` runs their seed corpora only; this explores beyond them.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
targets=(
	"./registrar/server FuzzHandleRegister"
	"./registrar/server FuzzParseExpires"
	"./registrar/digest FuzzParseCredentials"
	"./registrar/digest FuzzNonceCheck"
	"./registrar/location FuzzRegister"
	"./registrar/location FuzzURIEqual"
)
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "==> $name ($pkg) for $fuzztime"
	go test "$pkg" -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -parallel="${FUZZ_PARALLEL:-2}"
done
