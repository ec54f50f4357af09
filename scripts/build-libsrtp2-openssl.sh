#!/usr/bin/env bash
# Builds libsrtp2 from Debian 12's own source package against OpenSSL, as a static library
# in /opt/chasqui/libsrtp2-openssl, which CMake prefers over the system libsrtp2.
#
# Why: Debian builds libsrtp2 on NSS, and NSS allocates on every packet (28 allocations
# per AES-CM protect+unprotect, 10 for GCM) and is slow (AES-CM protect of 1100 bytes:
# 4.7 us). On OpenSSL the same library protects with GCM in 0.54 us with no allocation,
# which the relay's forwarding path needs (docs/ARCHITECTURE.md, docs/PERFORMANCE.md).
#
# Idempotent: a stamp file records the version built; a second run does nothing. The
# source comes from Debian's archive (deb-src), through a private apt configuration
# under the prefix, so the machine's own apt sources are left untouched.
set -euo pipefail

prefix=${CHASQUI_SRTP_PREFIX:-/opt/chasqui/libsrtp2-openssl}
version=2.5.0
stamp="$prefix/.chasqui-built-$version"
[ -f "$stamp" ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
apt_dir="$work/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/sources"
cat >"$apt_dir/sources/debian-src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
SRC
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/sources"
    -o "Dir::State::Lists=$apt_dir/lists" -o APT::Sandbox::User=root)

echo "build-libsrtp2-openssl: fetching Debian's libsrtp2 $version source"
apt-get "${apt_opts[@]}" update -qq >/dev/null
(cd "$work" && apt-get "${apt_opts[@]}" source -qq "libsrtp2=$version-*" >/dev/null 2>&1 ||
    apt-get "${apt_opts[@]}" source -qq libsrtp2 >/dev/null)
src=$(find "$work" -maxdepth 1 -type d -name "libsrtp2-$version" | head -1)
[ -n "$src" ] || { echo "build-libsrtp2-openssl: no libsrtp2-$version source" >&2; exit 1; }

echo "build-libsrtp2-openssl: building against OpenSSL into $prefix"
(cd "$src" &&
    ./configure --enable-openssl --prefix="$prefix" CFLAGS="-O2 -g -fPIC" >"$work/configure.log" 2>&1 &&
    make -j"$(nproc)" libsrtp2.a >"$work/make.log" 2>&1 &&
    make install >"$work/install.log" 2>&1) || {
    echo "build-libsrtp2-openssl: build failed; last lines:" >&2
    tail -20 "$work"/*.log >&2
    exit 1
}
touch "$stamp"
echo "build-libsrtp2-openssl: done"
