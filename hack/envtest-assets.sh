#!/usr/bin/env bash
# Prints the folder that holds kube-apiserver and etcd for envtest and `make dev`, and
# the kubectl that `make dev` prints and the chart tests run (and, when named as
# arguments, kube-controller-manager, kube-scheduler, kubelet and kube-proxy for `make e2e`), building them from the Go
# module proxy the first time (setup-envtest's downloads
# are not reachable from our CI). The binaries are cached outside the clone, keyed
# by version, so a fresh clone on the same machine reuses them.
set -euo pipefail

KUBE_VERSION=1.37.2
ETCD_VERSION=3.7.3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${REGISTRAR_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/registrar-operator/envtest/${KUBE_VERSION}-${ETCD_VERSION}}
mkdir -p "$cache"

if [[ ! -x $cache/etcd ]]; then
	echo "building etcd v${ETCD_VERSION} from Go modules into $cache (about a minute, once per machine)" >&2
	(cd "$here/tools/etcd" && go build -trimpath -o "$cache/etcd.tmp" . && mv "$cache/etcd.tmp" "$cache/etcd")
fi

# The Kubernetes commands report the version they were built from.
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v${KUBE_VERSION}"
ldflags+=" -X k8s.io/component-base/version.gitMajor=${KUBE_VERSION%%.*}"
minor=${KUBE_VERSION#*.}
ldflags+=" -X k8s.io/component-base/version.gitMinor=${minor%%.*}"

# build_kube COMMAND NOTE builds k8s.io/kubernetes/cmd/COMMAND into the cache unless it is there.
build_kube() {
	[[ -x $cache/$1 ]] && return
	echo "building $1 v${KUBE_VERSION} from Go modules into $cache ($2, once per machine)" >&2
	(cd "$here/tools/kube-apiserver" &&
		nice -n 19 go build -trimpath -ldflags "$ldflags" -o "$cache/$1.tmp" "k8s.io/kubernetes/cmd/$1" &&
		mv "$cache/$1.tmp" "$cache/$1")
}

build_kube kube-apiserver "about 8 minutes and 3 GB of memory on 2 cores; later runs reuse it"
build_kube kubectl "about a minute"
# `make e2e` asks for the rest of a single-node cluster by name.
for command in "$@"; do
	build_kube "$command" "a few minutes each on 2 cores, sharing most of the kube-apiserver build"
done

echo "$cache"
