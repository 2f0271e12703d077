#!/usr/bin/env bash
# Installs SIPp, the SIP test tool the integration tests drive, from Debian's
# sip-tester package when it is missing; then SIPp with TLS for the TLS tests
# (hack/ensure-sipp-tls.sh: Debian bookworm's SIPp is built without it).
set -euo pipefail
if ! command -v sipp >/dev/null; then
	echo "installing SIPp (Debian package sip-tester) for the SIP integration tests" >&2
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq sip-tester >/dev/null
	command -v sipp >/dev/null
fi
exec "$(dirname "$0")/ensure-sipp-tls.sh"
