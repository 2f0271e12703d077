#!/usr/bin/env bash
# Builds a container image of static Go programs without Docker and without a base to
# pull: `hack/image.sh OUT.tar IMAGE ./cmd/operator ./cmd/registrar` puts each program
# at /<last path element> on an empty base, runs the first as the entrypoint under the
# numeric non-root user 65532:65532 (as the Dockerfile's distroless :nonroot base does),
# and saves the image as a tarball that `ctr images import`, `kind load image-archive`,
# `k3d image import` and `crane push` take. No shell, no package manager, nothing else.
#
# crane edits images only in a registry, so a throwaway in-memory one on loopback holds
# the image between its two steps.
set -euo pipefail

out=$1 image=$2
shift 2
crane=${CRANE:-crane}
arch=${GOARCH:-$(go env GOARCH)}
work=$(mktemp -d)
registry_pid=""
cleanup() {
	[[ -z $registry_pid ]] || kill "$registry_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/root"
names=()
for pkg in "$@"; do
	name=${pkg##*/}
	names+=("$name")
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "-s -w" -o "$work/root/$name" "$pkg"
done
# Reproducible: the same binaries give the same layer digest.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=0755 \
	-C "$work/root" -cf "$work/layer.tar" "${names[@]}"

: >"$work/registry.log" # there before the server's shell opens it, for the loop below
"$crane" registry serve --address 127.0.0.1:0 >"$work/registry.log" 2>&1 &
registry_pid=$!
port=""
for _ in $(seq 100); do
	port=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/registry.log")
	[[ -n $port ]] && break
	kill -0 "$registry_pid" || { cat "$work/registry.log" >&2; exit 1; }
	sleep 0.1
done
[[ -n $port ]] || { echo "the local registry did not start: $(cat "$work/registry.log")" >&2; exit 1; }

staging=127.0.0.1:$port/image:build
"$crane" append --oci-empty-base -f "$work/layer.tar" -t "$staging" >/dev/null
"$crane" mutate "$staging" --set-platform "linux/$arch" --entrypoint "/${names[0]}" \
	--user 65532:65532 -t "$image" -o "$out" >/dev/null
echo "$image in $out" >&2
