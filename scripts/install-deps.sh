#!/usr/bin/env bash
# Installs every Debian 12 package chasqui needs to build, test and run.
# Idempotent: it asks dpkg first and calls apt-get only for what is missing,
# so a second run on a ready machine prints nothing and takes a fraction of a second.
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config clang libclang-rt-14-dev clang-format dpkg-dev
    # media transport and codecs (DESIGN.md "Dependencies")
    libuv1-dev libsrtp2-dev libssl-dev libopus-dev libvpx-dev libyuv-dev
    # control plane: HTTP + WebSocket on the libuv loop (the evlib-uv plugin is what lets
    # libwebsockets join a foreign libuv loop), JSON, storage
    libwebsockets-dev libwebsockets-evlib-uv libjansson-dev libsqlite3-dev
    # the telecentre client: window, speakers and microphone (SDL2; its dummy and disk
    # drivers let the tests run headless)
    libsdl2-dev
    # tests
    libcmocka-dev valgrind cppcheck curl
    # chasqui-rec2webm muxes recordings into WebM with libavformat (only that tool links it,
    # never the relay); its test reads the result back with ffprobe and ffmpeg
    libavformat-dev libavcodec-dev libavutil-dev ffmpeg
    # the demo and the client tests read stats files; the e2e suite plots them
    jq gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$p")
done

# libsrtp2 on OpenSSL goes to /opt: it needs root (or sudo) the first time only. It is an
# improvement, not a requirement: if it cannot be built (no root, Debian's archive out of
# reach), the system libsrtp2 serves, CMake says so, and the no-allocation test skips.
srtp_openssl() {
    local script
    script="$(dirname "$0")/build-libsrtp2-openssl.sh"
    if [ -f /opt/chasqui/libsrtp2-openssl/.chasqui-built-2.5.0 ]; then
        return 0
    elif [ "$(id -u)" -eq 0 ]; then
        "$script" || echo "install-deps: libsrtp2 on OpenSSL not built (the system's is used)" >&2
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$script" || echo "install-deps: libsrtp2 on OpenSSL not built (the system's is used)" >&2
    else
        echo "install-deps: not root: libsrtp2 on OpenSSL not built (the system's is used)" >&2
    fi
}

if [ ${#missing[@]} -eq 0 ]; then
    srtp_openssl
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: need root to install: ${missing[*]}" >&2
        exit 1
    fi
else
    SUDO=
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
srtp_openssl
echo "install-deps: done"
