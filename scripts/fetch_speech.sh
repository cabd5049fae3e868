#!/usr/bin/env bash
# Install the real recordings the tests and benchmarks use, if they are missing.
#
# 1. Source: Debian's package `codec2-examples` (sample data of the Codec 2 speech codec),
#   file /usr/share/codec2/raw/speech_orig_16k.wav: a male speaker, 10.8 s, 16 kHz mono 16-bit.
#   Also its 8 kHz male voices received over HF radio (wav/ve9qrp.wav, wav/vk5qi.wav).
#   Licence: LGPL-2.1, Copyright 2007-2019 David Rowe (Debian's copyright file for the package,
#   /usr/share/doc/codec2-examples/copyright, covers raw/* and wav/*).
# 2. Debian's `asterisk-core-sounds-en-wav`: 358 studio prompts by one female voice (Allison Smith),
#   8 kHz mono, /usr/share/asterisk/sounds/en_US_f_Allison/. Licence: CC-BY-SA-3.0.
# 3. Debian's `sonic-pi-samples`: recorded noise (vinyl_hiss, loop_3d_printer) and music loops,
#   44.1 kHz stereo FLAC, /usr/share/sonic-pi/samples/. Licence: CC0 (its README names each source).
# The audio stays outside the repository: tests read it from where the package installs it
# (or from $SONICMIX_SPEECH_WAV) and skip with a reason when it is absent.
#
# Usage: bash scripts/fetch_speech.sh   (as root, or with sudo available; needs apt-get)
set -euo pipefail

FILE=/usr/share/codec2/raw/speech_orig_16k.wav
PROMPT=/usr/share/asterisk/sounds/en_US_f_Allison/activated.wav
NOISE=/usr/share/sonic-pi/samples/vinyl_hiss.flac
if [ -f "$FILE" ] && [ -f "$PROMPT" ] && [ -f "$NOISE" ]; then
    echo "recordings present: $FILE $PROMPT $NOISE"
    exit 0
fi
if ! bash "$(dirname "$0")/apt_install.sh" codec2-examples asterisk-core-sounds-en-wav sonic-pi-samples; then
    echo "or set SONICMIX_SPEECH_WAV to a mono speech WAV" >&2
    exit 1
fi
for f in "$FILE" "$PROMPT" "$NOISE"; do
    if [ ! -f "$f" ]; then
        echo "packages installed but $f is missing" >&2
        exit 1
    fi
done
echo "recordings installed: $FILE $PROMPT $NOISE"
