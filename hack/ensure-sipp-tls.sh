#!/usr/bin/env bash
# Installs SIPp with TLS into the clone's bin/ when it is missing: bin/sipp-tls, a
# wrapper that runs bin/sipp-tls-root/usr/bin/sipp. Debian bookworm's sip-tester
# (SIPp 3.6.1, /usr/bin/sipp, which every other test drives) is built without TLS;
# trixie's is built with it (wolfSSL) but needs trixie's glibc, so it cannot be
# installed on bookworm. apt fetches it and the libraries it needs from trixie with a
# private configuration (the archive's signatures checked against the trixie keys
# bookworm's debian-archive-keyring ships), they are unpacked into a private root,
# and the wrapper runs SIPp through that root's own dynamic loader. That SIPp cannot
# send over TLS as Debian builds it (hack/sipp-tls/get_fd.c says why): the wrapper
# preloads a small fix, built here with the machine's C compiler. Nothing of the
# machine's is changed: no package is installed, no apt state is touched.
# DEBIAN_MIRROR names another Debian mirror than http://deb.debian.org/debian.
set -euo pipefail
cd "$(dirname "$0")/.."
wrapper=bin/sipp-tls
root=bin/sipp-tls-root
fix=hack/sipp-tls/get_fd.c
fix_lib=usr/lib/sipp-tls/get_fd.so

# sipp -v names the build: "SIPp v3.7.3-TLS-SCTP-PCAP-SHA256".
tls_build() { [[ $("$1" -v 2>/dev/null || true) == *-TLS* ]]; }
[[ -x $wrapper && $root/$fix_lib -nt $fix ]] && tls_build "$wrapper" && exit 0

fail() {
	echo "hack/ensure-sipp-tls.sh: $1" >&2
	[[ -s ${log:-} ]] && sed 's/^/  /' "$log" >&2
	exit 1
}
keys=(/usr/share/keyrings/debian-archive-trixie-stable.gpg /usr/share/keyrings/debian-archive-trixie-automatic.gpg)
for k in "${keys[@]}"; do
	[[ -r $k ]] || fail "$k is missing: install or upgrade Debian's debian-archive-keyring"
done
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || fail "apt-get and dpkg-deb are needed (a Debian machine)"
command -v cc >/dev/null || fail "a C compiler (cc) is needed to build $fix: install Debian's gcc"

echo "installing SIPp with TLS (Debian trixie's sip-tester, into $root) for the TLS tests" >&2
mkdir -p bin
work=$(mktemp -d "$PWD/bin/.sipp-tls.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/log
mkdir -p "$work"/apt/lists/partial "$work"/apt/cache/archives/partial "$work"/apt/empty "$work"/root
echo "deb [signed-by=${keys[0]},${keys[1]}] ${DEBIAN_MIRROR:-http://deb.debian.org/debian} trixie main" >"$work/sources.list"
apt=(
	-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts="$work/apt/empty"
	-o Dir::Etc::Preferences="$work/apt/empty/none" -o Dir::Etc::PreferencesParts="$work/apt/empty"
	-o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache" -o Dir::State::status=/dev/null
	-o APT::Architecture="$(dpkg --print-architecture)" -o APT::Architectures::="$(dpkg --print-architecture)"
	-o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
	-o Debug::NoLocking=1
)
# As root apt downloads as the _apt user, who cannot write into our private folder.
[[ $(id -u) -ne 0 ]] || apt+=(-o APT::Sandbox::User=root)

apt-get "${apt[@]}" -qq -o APT::Update::Error-Mode=any update >>"$log" 2>&1 || fail "apt-get update of Debian trixie failed"
# With an empty dpkg status, the download holds sip-tester and everything it
# depends on, its own glibc and loader included.
DEBIAN_FRONTEND=noninteractive apt-get "${apt[@]}" -qq -y --no-install-recommends --download-only \
	install sip-tester >>"$log" 2>&1 || fail "downloading sip-tester and its libraries from Debian trixie failed"
debs=("$work"/apt/cache/archives/*.deb)
[[ -f ${debs[0]} ]] || fail "apt downloaded nothing"
for d in "${debs[@]}"; do
	dpkg-deb -x "$d" "$work/root" >>"$log" 2>&1 || fail "unpacking $(basename "$d") failed"
done

mkdir -p "$work/root/${fix_lib%/*}"
cc -shared -fPIC -O2 -Wall -Werror -o "$work/root/$fix_lib" "$fix" >>"$log" 2>&1 || fail "building $fix failed"

loader=$(find "$work/root/usr/lib" -maxdepth 2 -name 'ld-linux*.so.[0-9]' -print -quit)
[[ -n $loader ]] || fail "no dynamic loader in trixie's libc6"
libdir=${loader%/*}
libdir=${libdir#"$work/root"}
loader=${loader#"$work/root"}
cat >"$work/wrapper" <<EOF
#!/bin/sh
# SIPp with TLS, Debian trixie's, run through its own glibc with the fix of
# hack/sipp-tls/get_fd.c (hack/ensure-sipp-tls.sh).
root="\$(dirname "\$(readlink -f "\$0")")/sipp-tls-root"
exec "\$root$loader" --preload "\$root/$fix_lib" --library-path "\$root$libdir" "\$root/usr/bin/sipp" "\$@"
EOF
chmod +x "$work/wrapper"

rm -rf "$root" "$wrapper"
mv "$work/root" "$root"
mv "$work/wrapper" "$wrapper"
if ! tls_build "$wrapper"; then
	"$wrapper" -v >>"$log" 2>&1 || true
	rm -rf "$root" "$wrapper"
	fail "the installed SIPp does not report TLS support (sipp -v)"
fi
