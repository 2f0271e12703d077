#!/usr/bin/env bash
# Installs SIPp, the SIP test tool the integration tests drive, from Debian's
# sip-tester package when it is missing.
set -euo pipefail
command -v sipp >/dev/null && exit 0
echo "installing SIPp (Debian package sip-tester) for the SIP integration tests" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq sip-tester >/dev/null
command -v sipp >/dev/null
