#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 30s; the closing notes quote 10m
# runs). `make test` runs their seed corpora only; this explores beyond them.
# The targets are found, not listed by hand, so a new one is never left out;
# `hack/fuzz.sh --list` prints them as "package target" lines.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}

# Every `func FuzzX(` in a test file of this module (hack/tools are modules of their own).
targets() {
	grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*\(' . |
		grep -v '^\./hack/tools/' |
		sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($|\1 \2|' |
		sort -u
}

if [[ ${1:-} == --list ]]; then
	targets
	exit 0
fi

targets | while read -r pkg name; do
	echo "==> $name ($pkg) for $fuzztime"
	go test "$pkg" -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -parallel="${FUZZ_PARALLEL:-2}" </dev/null
done
