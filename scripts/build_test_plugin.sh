#!/usr/bin/env bash
# Build the VST3 plugin that tests/nodes/test_plugin_file.py loads through pedalboard.load_plugin.
#
# The plugin's source is sonicmix's own (tests/plugins/sonicmix-test: a one-pole low-pass, a gain and
# a reported 64-sample delay). It is compiled with DPF, the DISTRHO Plugin Framework (ISC licence),
# whose VST3 wrapper needs no SDK from Steinberg; Debian ships DPF's source as dpf-source.
# Output (kept out of git): tests/plugins/build/sonicmix-test.vst3, a VST3 bundle for this machine.
# The tests that need it skip with a reason where it is missing.
#
# Usage: bash scripts/build_test_plugin.sh   (as root, or with sudo available, when packages are missing)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
src="$here/tests/plugins/sonicmix-test"
out="$here/tests/plugins/build"
bundle="$out/sonicmix-test.vst3"

if [ -d "$bundle" ] && [ -z "$(find "$src" -newer "$bundle" -type f)" ]; then
    echo "test plugin up to date: $bundle"
    exit 0
fi
missing=()
[ -f /usr/share/dpf/Makefile.plugins.mk ] || missing+=(dpf-source)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
    bash "$here/scripts/apt_install.sh" "${missing[@]}"
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# built in a scratch folder, then moved into place whole: a failed build leaves no half bundle
make -s -C "$src" DPF_PATH=/usr/share/dpf DPF_BUILD_DIR="$scratch/obj" DPF_TARGET_DIR="$scratch/bin" \
    NOOPT=false SKIP_STRIPPING=true >/dev/null
mkdir -p "$out"
rm -rf "$bundle"
mv "$scratch/bin/sonicmix-test.vst3" "$bundle"
echo "built: $bundle"
