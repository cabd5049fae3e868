#!/usr/bin/env bash
# Install the Debian packages the tests use as independent oracles and data, if they are missing.
#
# - ffmpeg: the ffmpeg and ffprobe command lines decode sonicmix's MP3, AAC, Opus and Vorbis
#   deliverables in tests/test_encoded.py (a build of FFmpeg separate from the one in PyAV's wheel)
#   and read their loudness tags back.
# - libmysofa1: ships the MIT KEMAR HRIR set (usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa,
#   AES69 SOFA) used by the binaural tests.
# - libportaudio2: PortAudio, which sounddevice (sonicmix[preview]) loads at import; tests/test_preview.py
#   checks the no-device message with it.
# Tests that need them skip with a reason where they are missing.
#
# Usage: bash scripts/install_tools.sh   (as root, or with sudo available; needs apt-get)
set -euo pipefail

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
[ -f /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa ] || missing+=(libmysofa1)
# (grep without -q reads all of ldconfig's output: no SIGPIPE for pipefail to turn into "missing")
[ -n "$(ldconfig -p 2>/dev/null | grep 'libportaudio\.so\.2' || true)" ] || missing+=(libportaudio2)
if [ ${#missing[@]} -eq 0 ]; then
    echo "tools present: ffmpeg, libmysofa1, libportaudio2"
    exit 0
fi
bash "$(dirname "$0")/apt_install.sh" "${missing[@]}"
echo "installed: ${missing[*]}"
