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

if [ -d "$bundle" ] && [ -z "$(find "$src" "$0" -newer "$bundle" -type f)" ]; then
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
# Built in a scratch folder, then moved into place whole: a failed build leaves no half bundle, and
# no stale one either (the tests would run against it). DPF's default -ffast-math would link gcc's
# crtfastmath.o, which turns on flush-to-zero for the whole process that loads the plugin (subnormal
# floats read as 0 in every test after it): -O2 without it.
if ! make -s -C "$src" DPF_PATH=/usr/share/dpf DPF_BUILD_DIR="$scratch/obj" DPF_TARGET_DIR="$scratch/bin" \
        BASE_OPTS="-O2 -fdata-sections -ffunction-sections" SKIP_STRIPPING=true >/dev/null; then
    rm -rf "$bundle"
    echo "the test plugin failed to build (see the compiler's messages above); its tests will be skipped" >&2
    exit 1
fi
mkdir -p "$out"
rm -rf "$bundle"
mv -T "$scratch/bin/sonicmix-test.vst3" "$bundle"  # -T: never into a bundle another build just made
echo "built: $bundle"
