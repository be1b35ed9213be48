#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root):
#   tools/bootstrap.sh run    install build dependencies, build, start turnd (embedded config)
#   tools/bootstrap.sh test   install build + test dependencies, build, run every test (ctest)
#   tools/bootstrap.sh build  install build dependencies and build only
# BUILD_DIR (default: build) and JOBS (default: nproc) can be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

BUILD_PACKAGES=(build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libyaml-cpp-dev
  libspdlog-dev libhiredis-dev libgtest-dev libgmock-dev libcli11-dev libsystemd-dev
  libbenchmark-dev)
# Real third-party peers for the tests: coturn's turnutils_*, aioice, pytest, Chromium, Redis,
# clang + its sanitizer/fuzzer runtime for the bounded fuzz runs.
# browser.turns: libnss3-tools' certutil trusts its test certificate in the NSS database Chromium
# reads ($HOME/.pki/nssdb); the openssl command line checks and makes test certificates.
# Packaging tests (tests/packaging): lintian, rpmbuild + rpmlint, systemd-analyze, man, and
# debootstrap (+ curl to probe the mirror) for the throw-away Debian root of the install test.
# NAT tests (RFC 5780/6062): nftables masquerade inside network namespaces the tests make.
TEST_PACKAGES=(coturn python3-aioice python3-pytest chromium redis-server clang
  libclang-rt-14-dev iproute2 nftables nodejs npm openssl libnss3-tools
  lintian rpm rpmlint debootstrap systemd man-db curl)

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # A machine may carry its own node/npm (not from Debian): keep it.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    local keep=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || keep+=("$p"); done
    missing=("${keep[@]}")
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-}" in
  run)
    install_packages "${BUILD_PACKAGES[@]}"
    build
    shift
    exec "$BUILD_DIR/server/turnd" "$@"
    ;;
  test)
    install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600
    ;;
  build)
    install_packages "${BUILD_PACKAGES[@]}"
    build
    ;;
  *)
    echo "usage: $0 run|test|build" >&2
    exit 2
    ;;
esac
