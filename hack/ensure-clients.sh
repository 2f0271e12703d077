#!/usr/bin/env bash
# Installs the real SIP clients the registrar's tests drive, from Debian's packages
# when one is missing: baresip and linphonec (over TLS), and Chromium with Node.js
# and npm (JsSIP over WSS in a headless browser); then JsSIP itself, pinned by
# hack/browser/package-lock.json, bundled into the one script the test serves
# (hack/browser/dist/jssip.js), when it is missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v baresip >/dev/null || missing+=(baresip-core)
command -v linphonec >/dev/null || missing+=(linphone-cli)
command -v chromium >/dev/null || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "installing ${missing[*]} (Debian packages) for the real-client tests" >&2
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ ! -f hack/browser/dist/jssip.js || hack/browser/package-lock.json -nt hack/browser/dist/jssip.js ]]; then
	echo "installing JsSIP (npm ci and npm run bundle in hack/browser) for the browser test" >&2
	(cd hack/browser && npm ci --no-audit --no-fund --loglevel=error && npm run --silent bundle)
fi
