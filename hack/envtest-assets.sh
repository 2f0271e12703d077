#!/usr/bin/env bash
# Prints the folder that holds kube-apiserver and etcd for envtest and `make dev`, and
# the kubectl that `make dev` prints and the chart tests run, building them from the Go
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

if [[ ! -x $cache/kube-apiserver ]]; then
	echo "building kube-apiserver v${KUBE_VERSION} from Go modules into $cache" >&2
	echo "  (about 8 minutes and 3 GB of memory on 2 cores, once per machine; later runs reuse it)" >&2
	(cd "$here/tools/kube-apiserver" &&
		go build -trimpath -ldflags "$ldflags" -o "$cache/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver &&
		mv "$cache/kube-apiserver.tmp" "$cache/kube-apiserver")
fi

if [[ ! -x $cache/kubectl ]]; then
	echo "building kubectl v${KUBE_VERSION} from Go modules into $cache (about a minute, once per machine)" >&2
	(cd "$here/tools/kube-apiserver" &&
		go build -trimpath -ldflags "$ldflags" -o "$cache/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl &&
		mv "$cache/kubectl.tmp" "$cache/kubectl")
fi

echo "$cache"
