#!/usr/bin/env bash
# Install the real speech recording that the ducking tests use, if it is missing.
#
# Source: Debian's package `codec2-examples` (sample data of the Codec 2 speech codec),
#   file /usr/share/codec2/raw/speech_orig_16k.wav: a male speaker, 10.8 s, 16 kHz mono 16-bit.
# Licence: LGPL-2.1, Copyright 2007-2019 David Rowe (Debian's copyright file for the package,
#   /usr/share/doc/codec2-examples/copyright, covers raw/* and wav/*).
# The audio stays outside the repository: tests read it from where the package installs it
# (or from $SONICMIX_SPEECH_WAV) and skip with a reason when it is absent.
#
# Usage: bash scripts/fetch_speech.sh   (as root, or with sudo available; needs apt-get)
set -euo pipefail

FILE=/usr/share/codec2/raw/speech_orig_16k.wav
if [ -f "$FILE" ]; then
    echo "speech recording present: $FILE"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install Debian's codec2-examples by other means, or set" \
         "SONICMIX_SPEECH_WAV to a mono speech WAV" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends codec2-examples >/dev/null
if [ ! -f "$FILE" ]; then
    echo "codec2-examples installed but $FILE is missing" >&2
    exit 1
fi
echo "speech recording installed: $FILE"
