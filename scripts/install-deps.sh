#!/usr/bin/env bash
# Installs the Debian packages Pipeline needs to build, test and benchmark; with --fuzz, also
# what the fuzz build needs (clang, and libclang-rt-14-dev, which holds libFuzzer on Debian 12).
# `make test` never needs clang: the fuzz targets are built only by `make fuzz`, and the replay
# of their corpus in the test suite is compiled with the default compiler.
# Idempotent: installs only what is missing and prints nothing when all is present.
#
#   scripts/install-deps.sh [--fuzz]
set -euo pipefail

fuzz=0
case "${1:-}" in
  "") ;;
  --fuzz) fuzz=1 ;;
  *) echo "usage: scripts/install-deps.sh [--fuzz]" >&2; exit 2 ;;
esac

packages=(
  build-essential cmake pkg-config
  libzmq3-dev cppzmq-dev libsodium-dev
  libmsgpack-cxx-dev
  libboost-dev libboost-filesystem-dev
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libyaml-cpp-dev
  libsqlite3-dev
  libcurl4-openssl-dev
  nlohmann-json3-dev
  libcli11-dev
  libsystemd-dev
  libjemalloc-dev
  iproute2 procps
)
[[ $fuzz -eq 1 ]] && packages+=(clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
