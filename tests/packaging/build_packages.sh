#!/usr/bin/env bash
# Fixture of the packaging tests: cmake --build BUILD --target package, then checks that one
# .deb and one .rpm of this version came out.   build_packages.sh BUILD_DIR
set -euo pipefail
BUILD=$1
rm -rf "$BUILD/packages"
cmake --build "$BUILD" --target package >"$BUILD/packaging-build.log" 2>&1 \
  || { tail -40 "$BUILD/packaging-build.log" >&2; echo "FAILED: cmake --build --target package" >&2; exit 1; }
ls -l "$BUILD"/packages/turnd_*.deb "$BUILD"/packages/turnd-*.rpm
