#!/usr/bin/env bash
# Install Debian packages quietly, as root or through sudo: bash scripts/apt_install.sh PACKAGE...
# Shared by the scripts that fetch the tests' recordings and tools; exits 1 where there is no apt-get.
set -euo pipefail
if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install Debian's $* by other means" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
