#!/usr/bin/env bash
# Installs what the single-node cluster of `make e2e` runs beside the Kubernetes
# components it builds itself: containerd, runc, the CNI plugins (in /usr/lib/cni),
# iptables for kube-proxy and conntrack to inspect and flush its entries, from Debian's
# packages when one is missing.
set -euo pipefail
missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null || missing+=(iptables)
command -v conntrack >/dev/null || missing+=(conntrack)
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "installing ${missing[*]} (Debian packages) for make e2e" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
