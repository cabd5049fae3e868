"""Command-line interface.

- ``sonicmix measure FILE... [--json] [--layout NAME]``: loudness reports;
- ``sonicmix render SESSION -o DIR [--target NAME]``: deliver a session file;
- ``sonicmix demo [--out DIR] [--target NAME]``: deliver the built-in demo.

The CLI only parses arguments, calls the library and prints; it holds no DSP
and no defaults of its own. Exit status: 0 on success (compliant), 1 when a
delivery does not meet its target, 2 on any error, with the message on stderr.

Examples
--------
>>> import tempfile, os
>>> import numpy as np
>>> import sonicmix.io as sio
>>> folder = tempfile.TemporaryDirectory()
>>> path = os.path.join(folder.name, "tone.wav")
>>> t = np.arange(10 * 48_000) / 48_000
>>> tone = 10 ** (-20 / 20) * np.sin(2 * np.pi * 1000.0 * t)
>>> _ = sio.write(path, np.stack([tone, tone]), 48_000, subtype="FLOAT")
>>> main(["measure", path]) # doctest: +ELLIPSIS
/.../tone.wav
Loudness report: 10.000 s, 2 ch (stereo), 48000 Hz
  Integrated      -20.0 LUFS
...
0
>>> folder.cleanup()
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from sonicmix import __version__
from sonicmix.errors import AudioFileError, SonicmixError

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix.loudness import LoudnessReport

__all__ = ["main", "builtin_signal"]

EXIT_OK = 0
EXIT_NOT_COMPLIANT = 1
EXIT_ERROR = 2

#: Frames read and measured at a time: memory stays constant however long the file.
_MEASURE_BLOCK_SIZE = 2**16

_BUILTIN_SEED = 20261127
BUILTIN_DESCRIPTION = (
    "built-in test signal: 20 s stereo at 48000 Hz, a 1 kHz tone at -26 dBFS peak "
    f"plus pink-ish noise bursts (seed {_BUILTIN_SEED})"
)


def builtin_signal() -> tuple[np.ndarray, int]:
    """Return the built-in test signal that ``sonicmix measure`` uses with no file.

    20 s of stereo float32 at 48 kHz: a continuous 1 kHz sine at -26 dBFS peak
    in both channels, plus independent noise per channel with a 1/f (pink-ish)
    power spectrum above 20 Hz, switched on for 1.5 s out of every 2.5 s with
    20 ms raised-cosine fades. The noise comes from a fixed seed, so the signal
    and its measurement are the same on every run.

    Returns
    -------
    audio : np.ndarray, shape=(2, 960000)
        float32 samples.
    sample_rate : int
        48000.

    Examples
    --------
    >>> audio, sample_rate = builtin_signal()
    >>> audio.shape, audio.dtype, sample_rate
    ((2, 960000), dtype('float32'), 48000)
    >>> bool(np.all(np.abs(audio) < 1.0))
    True
    """
    sample_rate = 48_000
    n = 20 * sample_rate
    rng = np.random.default_rng(_BUILTIN_SEED)
    t = np.arange(n) / sample_rate
    tone = 10 ** (-26 / 20) * np.sin(2 * np.pi * 1000.0 * t)

    # Pink-ish noise: white noise whose spectrum is scaled by 1/sqrt(f) (power ~ 1/f),
    # with everything below 20 Hz removed.
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=-1)
    freqs_hz = np.fft.rfftfreq(n, 1 / sample_rate)
    spectrum *= np.where(freqs_hz >= 20.0, 1.0 / np.sqrt(np.maximum(freqs_hz, 20.0)), 0.0)
    pink = np.fft.irfft(spectrum, n=n, axis=-1)
    pink *= 10 ** (-24 / 20) / np.sqrt(np.mean(pink**2))  # -24 dBFS RMS while on

    # Bursts: on for 1.5 s of every 2.5 s, with 20 ms raised-cosine fades in and out.
    period, on, fade = round(2.5 * sample_rate), round(1.5 * sample_rate), round(0.02 * sample_rate)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    burst = np.concatenate([ramp, np.ones(on - 2 * fade), ramp[::-1], np.zeros(period - on)])
    gate = np.resize(burst, n)

    audio = tone + pink * gate
    return audio.astype(np.float32), sample_rate


def _measure_file(path: str, layout: str | None) -> LoudnessReport:
    """Measure a file block by block (constant memory)."""
    import sonicmix.io as sio
    from sonicmix.loudness import LoudnessMeter

    file_info = sio.info(path)
    if file_info.frames == 0:
        raise AudioFileError(f"cannot measure {path!r}: the file holds no audio (0 frames)")
    # Raises LayoutError if the layout is unknown or does not match the file's channel count.
    meter = LoudnessMeter(file_info.sample_rate, channels=file_info.channels, layout=layout, dtype="float32")
    # float32 holds every 16- and 24-bit PCM sample and every 32-bit float sample exactly.
    for block in sio.blocks(path, _MEASURE_BLOCK_SIZE, dtype="float32"):
        meter.update(block)
    return meter.report()


def _measure_builtin(layout: str | None) -> LoudnessReport:
    from sonicmix.loudness import measure

    audio, sample_rate = builtin_signal()
    return measure(audio, sample_rate, layout=layout)


def _cmd_measure(args: argparse.Namespace) -> int:
    entries: list[dict[str, object]] = []
    failed = False
    sources: list[str | None] = list(args.files) if args.files else [None]
    for index, source in enumerate(sources):
        try:
            report = _measure_builtin(args.layout) if source is None else _measure_file(source, args.layout)
        except KeyboardInterrupt:
            raise
        except SonicmixError as err:
            failed = True
            # Library messages already name the file when the file is at fault; add it otherwise.
            text = str(err)
            where = "built-in signal" if source is None else source
            prefix = "" if (source is not None and source in text) else f"{where}: "
            print(f"sonicmix measure: error: {prefix}{text}", file=sys.stderr)
            continue
        except Exception as err:  # a bug, or an OS-level failure: still a message, not a traceback
            failed = True
            where = "built-in signal" if source is None else repr(source)
            print(
                f"sonicmix measure: error: {where}: unexpected {type(err).__name__}: {err}", file=sys.stderr
            )
            continue
        if args.json:
            entry: dict[str, object] = {"file": source}
            if source is None:
                entry["signal"] = BUILTIN_DESCRIPTION
            entry.update(report.to_dict())
            entries.append(entry)
        else:
            print(BUILTIN_DESCRIPTION if source is None else source)
            print(report)
            if index < len(sources) - 1:
                print()
            sys.stdout.flush()
    if args.json:
        # allow_nan=False: the output must be strict JSON (to_dict maps undefined levels to null).
        print(json.dumps(entries, indent=2, allow_nan=False))
    return EXIT_ERROR if failed else EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sonicmix", description="Audio sound design and mixing to broadcast loudness targets."
    )
    parser.add_argument("--version", action="version", version=f"sonicmix {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    measure = commands.add_parser(
        "measure",
        help="measure loudness (ITU-R BS.1770 / EBU R 128) of audio files",
        description=(
            "Print integrated loudness, loudness range, true and sample peak, and the momentary and "
            "short-term maxima of each FILE. With no FILE, measure a built-in test signal."
        ),
    )
    measure.add_argument("files", nargs="*", metavar="FILE", help="audio files (any format soundfile reads)")
    measure.add_argument("--json", action="store_true", help='print a JSON list of {"file": ..., report}')
    measure.add_argument(
        "--layout",
        metavar="NAME",
        help="channel layout (mono, stereo, 5.0, 5.1, 7.1); assumed from the channel count if omitted",
    )
    measure.set_defaults(run=_cmd_measure)
    demo = commands.add_parser(
        "demo",
        help="render the built-in demo session to a loudness target and print the compliance report",
        description=(
            "Synthesise a short two-voice documentary mix (voices, music bed, effects), run it through EQ, "
            "compression, de-essing, reverb and ducking, deliver it to the target with stems and an M&E "
            "mix, and print the compliance report. Exit status 0 when compliant, 1 when not, 2 on error."
        ),
    )
    demo.add_argument(
        "--out", default="sonicmix-demo", metavar="DIR", help="output folder (default: %(default)s)"
    )
    demo.add_argument(
        "--target", default="ebu-r128", metavar="NAME", help="loudness target preset (default: %(default)s)"
    )
    demo.add_argument("--seconds", type=float, default=30.0, help="length of the demo (default: %(default)s)")
    demo.set_defaults(run=_cmd_demo)
    render = commands.add_parser(
        "render",
        help="render a session file (TOML) to its loudness target and print the delivery report",
        description=(
            "Load SESSION (see docs/sessions.md), render and deliver it into DIR with the session's target "
            "and options, and print the delivery report. Exit status 0 when compliant, 1 when not, "
            "2 on error (the message names the file)."
        ),
    )
    render.add_argument("session", metavar="SESSION", help="session file (.toml)")
    render.add_argument(
        "-o", "--out", required=True, metavar="DIR", help="output folder (created if missing)"
    )
    render.add_argument("--target", metavar="NAME", help="loudness target preset; overrides the session's")
    render.set_defaults(run=_cmd_render)
    return parser


def _cmd_demo(args: argparse.Namespace) -> int:
    from sonicmix.demo import run_demo

    delivery = run_demo(args.out, target=args.target, seconds=args.seconds)
    print(delivery)
    return EXIT_OK if delivery.passed else EXIT_NOT_COMPLIANT


def _cmd_render(args: argparse.Namespace) -> int:
    from sonicmix.session import load_session, render_session

    try:
        session = load_session(args.session)
        delivery = render_session(session, args.out, target=args.target)
    except KeyboardInterrupt:
        raise
    except (SonicmixError, OSError) as err:
        # Session errors start with the file's path; anything else (an unreadable audio file, a full
        # disk) gets the session file's name in front so the message always says which session failed.
        text = str(err)
        prefix = "" if text.startswith(args.session) else f"{args.session}: "
        print(f"sonicmix render: error: {prefix}{text}", file=sys.stderr)
        return EXIT_ERROR
    print(delivery)
    return EXIT_OK if delivery.passed else EXIT_NOT_COMPLIANT


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``sonicmix ...`` and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 on success, 2 on any error (usage errors included).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(
            "sonicmix: error: a command is required (try: sonicmix demo, or sonicmix measure --help)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        return int(args.run(args))
    except SonicmixError as err:
        print(f"sonicmix {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
