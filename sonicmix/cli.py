"""Command-line interface: ``sonicmix COMMAND ...`` (also ``python -m sonicmix``).

Commands
--------
- ``sonicmix measure FILE... [--json [--series]] [--layout NAME]``: loudness reports
  (BS.1770 / EBU R 128); ``--demo`` measures a built-in test signal instead. A FILE is
  required: a shell glob that matched nothing must not look like a pass.
- ``sonicmix normalize IN OUT --target NAME [--subtype S] [--layout NAME] [--dialogue] [--json]``:
  bring a file to a loudness target with gain and the true-peak limiter (the
  closed loop of :func:`sonicmix.deliver.deliver`) and write it atomically
  to OUT (``.wav`` or ``.flac``); IN is never overwritten.
- ``sonicmix targets [--json]``: the loudness target presets and their sources.
- ``sonicmix render SESSION -o DIR [--target NAME] [--formats LIST] [--deliver LIST] [--name NAME]
  [--force] [--json]``: deliver a session file; a delivery of the same name already in DIR is
  replaced only with ``--force``. ``--deliver spotify:opus,apple-podcasts:mp3`` renders once and
  delivers to each target into ``DIR/<target>/``.
- ``sonicmix batch SESSION... -o DIR [--target NAME] [--jobs N | --scheduler ADDRESS] [--json]``:
  deliver many sessions in parallel, each into ``DIR/<session name>/``
  (see :func:`sonicmix.batch.render_many`).
- ``sonicmix demo [--out DIR] [--target NAME]``: deliver the built-in demo.
- ``sonicmix preview FILE_OR_SESSION [--start S] [--device D]``, ``sonicmix preview --list-devices``:
  play a file or a session on the sound card with a live loudness meter (:mod:`sonicmix.preview`).

Options for every command (before or after its name): ``-q/--quiet`` prints
only errors and the result (one line, or the JSON); ``-v/--verbose`` logs
DEBUG records; ``--progress`` draws progress bars even when stderr is not a
terminal (by default they are drawn on a terminal only, never with
``--quiet``). Log records and bars go to stderr, results to stdout.

The CLI only parses arguments, calls the library and prints; it holds no DSP
and no defaults of its own. Exit status: 0 on success (compliant), 1 when a
delivery does not meet its target, 2 on any error (the message on stderr
names the file at fault), 130 when interrupted (143 on SIGTERM). ``docs/cli.md`` describes
every command with examples.

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
>>> out = os.path.join(folder.name, "tone-r128.wav")
>>> main(["--quiet", "normalize", path, out, "--target", "ebu-r128"]) # doctest: +ELLIPSIS
/.../tone-r128.wav: PASSED ebu-r128: -23.0 LUFS, -23.0 dBTP (gain -3.01 dB)
0
>>> folder.cleanup()
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sonicmix import __version__
from sonicmix.errors import AudioError, AudioFileError, ParameterError, SonicmixError

if TYPE_CHECKING:  # pragma: no cover
    from sonicmix.loudness import LoudnessReport

__all__ = ["main", "builtin_signal"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_NOT_COMPLIANT = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM


class _Terminated(BaseException):
    """SIGTERM (what schedulers and containers send to stop a job), raised where the program is, so
    that the writers' clean-up runs as it does for Ctrl-C."""


#: Frames read and measured at a time: memory stays constant however long the file.
_MEASURE_BLOCK_SIZE = 2**16

Progress = Callable[[str, int, int], None]

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


# --------------------------------------------------------------------------------------- measure


def _measure_file(
    path: str, layout: str | None, progress: Progress | None = None, speech: list[Any] | None = None
) -> LoudnessReport:
    """Measure a file block by block (constant memory).

    With a list as ``speech``, the built-in speech detector runs over the same
    blocks and the list receives its :class:`~sonicmix.speech.SpeechActivity`.
    """
    import sonicmix.io as sio
    from sonicmix.loudness import LoudnessMeter

    file_info = sio.info(path)
    if file_info.frames == 0:
        raise AudioFileError(f"cannot measure {path!r}: the file holds no audio (0 frames)")
    # The layout given, checked against the file's channel count and WAVE channel mask, or the one the
    # mask names (7.1.4, 9.1.6, ...), or the one assumed for the count; LayoutError naming the file if none.
    # With speech: the built-in detector hears the same blocks (sonicmix.speech.gating.SpeechMeter).
    chosen: Any = sio.file_layout(path, layout)
    meter: Any
    if speech is None:
        meter = LoudnessMeter(file_info.sample_rate, layout=chosen, dtype="float32")
    else:
        from sonicmix.speech.gating import SpeechMeter

        meter = SpeechMeter(file_info.sample_rate, layout=chosen, dtype="float32")
    stage = f"measure {os.path.basename(path)}"
    done = 0
    # float32 holds every 16- and 24-bit PCM sample and every 32-bit float sample exactly.
    for block in sio.blocks(path, _MEASURE_BLOCK_SIZE, dtype="float32"):
        try:
            meter.update(block)
        except AudioError as err:  # NaN or inf samples: the meter counts from the file's start
            raise AudioError(f"cannot measure {path!r}: {err}") from None
        done += block.shape[1]
        if progress is not None:
            progress(stage, done, file_info.frames)
    if speech is None:
        return meter.report()
    from sonicmix.speech import SpeechActivity

    report, probabilities = meter.finish()
    speech.append(
        SpeechActivity.from_probabilities(probabilities, meter.hop_s, duration_s=done / file_info.sample_rate)
    )
    return report


def _measure_builtin(layout: str | None) -> LoudnessReport:
    from sonicmix.loudness import measure

    audio, sample_rate = builtin_signal()
    return measure(audio, sample_rate, layout=layout)


def _level(value: float, unit: str, places: int = 1) -> str:
    if np.isnan(value):
        return "undefined"
    if np.isinf(value):
        return f"{'-' if value < 0 else '+'}inf {unit}"
    return f"{value:.{places}f} {unit}"


def _report_line(report: LoudnessReport) -> str:
    return (
        f"{_level(report.integrated_lufs, 'LUFS')} integrated, LRA {_level(report.lra_lu, 'LU')}, "
        f"true peak {_level(report.true_peak_dbtp, 'dBTP')}"
    )


def _measured_against(report: LoudnessReport, target: Any, dialogue: bool) -> tuple[LoudnessReport, Any]:
    """The report (with its dialogue-gated loudness when the file is all dialogue) and its compliance."""
    import dataclasses

    from sonicmix.compliance import evaluate
    from sonicmix.deliver import dialogue_gated_lufs

    if dialogue:
        powers = report.block_powers
        report = dataclasses.replace(report, dialogue_lufs=dialogue_gated_lufs(powers, powers))
    return report, evaluate(report, target)


def _estimated_against(report: LoudnessReport, target: Any, activity: Any) -> tuple[LoudnessReport, Any, Any]:
    """A mix without stems against a dialogue-gated target: the speech-gated estimate and compliance.

    With too little speech (``MIN_SPEECH_SHARE``, Netflix's 15 %) Netflix's rule judges the
    programme loudness against ``netflix-programme``; other dialogue-gated targets have no such rule,
    so their integrated criterion fails, saying why.
    """
    import dataclasses
    import math

    from sonicmix.compliance import evaluate
    from sonicmix.speech.estimate import estimate_dialogue_lufs

    estimate = estimate_dialogue_lufs(report.block_powers, activity)
    dialogue = estimate.dialogue_lufs if estimate.enough_speech else math.nan
    report = dataclasses.replace(report, dialogue_lufs=dialogue, notes=(*report.notes, estimate.text))
    if not estimate.enough_speech and target.name == "netflix":
        target = "netflix-programme"
    return report, evaluate(report, target), estimate


def _cmd_measure(args: argparse.Namespace) -> int:
    entries: list[dict[str, object]] = []
    failed = False
    compliant = True
    if not args.files and not args.demo:
        raise ParameterError(
            "FILE is missing; expected at least one audio file (an unmatched shell glob passes no file "
            "when nullglob is set) or --demo for the built-in test signal"
        )
    sources: list[str | None] = [*args.files, *([None] if args.demo else [])]
    target = None
    if args.target is not None:
        from sonicmix.targets import get_target

        target = get_target(args.target)
    # A dialogue-gated target on a finished mix (not declared speech only by --dialogue): estimate
    # the dialogue loudness by gating the mix with the speech detector.
    estimating = target is not None and target.measurement == "dialogue" and not args.dialogue
    for index, source in enumerate(sources):
        speech: list[Any] = []
        estimate = None
        logger.debug("measuring %s", "the built-in signal" if source is None else source)
        try:
            if source is None:
                report = _measure_builtin(args.layout)
                if estimating:
                    from sonicmix.speech import detect_speech

                    speech.append(detect_speech(*builtin_signal()))
            else:
                report = _measure_file(source, args.layout, args.bar, speech if estimating else None)
        except KeyboardInterrupt:
            raise
        except SonicmixError as err:
            failed = True
            # Library messages already name the file when the file is at fault; add it otherwise.
            text = str(err)
            where = "built-in signal" if source is None else source
            prefix = "" if (source is not None and source in text) else f"{where}: "
            _error(args, f"{prefix}{text}")
            continue
        except Exception as err:  # a bug, or an OS-level failure: still a message, not a traceback
            failed = True
            where = "built-in signal" if source is None else repr(source)
            logger.debug("traceback", exc_info=True)
            _error(args, f"{where}: unexpected {type(err).__name__}: {err}")
            continue
        finally:
            args.bar.close()
        compliance = None
        if target is not None and estimating:
            report, compliance, estimate = _estimated_against(report, target, speech[0])
            compliant = compliant and compliance.passed
        elif target is not None:
            report, compliance = _measured_against(report, target, args.dialogue)
            compliant = compliant and compliance.passed
        if args.json:
            entry: dict[str, object] = {"file": source}
            if source is None:
                entry["signal"] = BUILTIN_DESCRIPTION
            entry.update(_rounded(report.to_dict(series=args.series)))
            if estimate is not None:
                entry["dialogue_estimate"] = estimate.to_dict()
            if compliance is not None:
                entry["compliance"] = compliance.to_dict()
            entries.append(entry)
        elif args.quiet:
            verdict = ""
            if compliance is not None:
                verdict = f", {'PASS' if compliance.passed else 'FAIL'} {compliance.target.name}"
            if estimate is not None:
                share = 100 * estimate.speech_share
                verdict += f" (dialogue estimated by speech gating, speech {share:.0f} %)"
            print(f"{'built-in signal' if source is None else source}: {_report_line(report)}{verdict}")
        else:
            print(BUILTIN_DESCRIPTION if source is None else source)
            print(report)
            if compliance is not None:
                print(compliance)
            if index < len(sources) - 1:
                print()
            sys.stdout.flush()
    if args.json:
        # allow_nan=False: the output must be strict JSON (to_dict maps undefined levels to null).
        print(json.dumps(entries, indent=2, allow_nan=False))
    if failed:
        return EXIT_ERROR
    return EXIT_OK if compliant else EXIT_NOT_COMPLIANT


#: Decimal places of JSON values by unit suffix: levels to 0.01 dB / LU (finer than the meter's
#: BS.1770 accuracy and EBU Tech 3341's +-0.1 LU tolerance), times to the microsecond.
_JSON_PLACES = {"_lufs": 2, "_lu": 2, "_dbtp": 2, "_dbfs": 2, "_db": 2, "_s": 6}


def _rounded(data: dict[str, object]) -> dict[str, object]:
    """A report's plain values with levels rounded to what the meter resolves (``--json``)."""
    out: dict[str, object] = {}
    for key, value in data.items():
        places = next((n for suffix, n in _JSON_PLACES.items() if key.endswith(suffix)), None)
        if places is not None and isinstance(value, float):
            value = round(value, places)
        elif places is not None and isinstance(value, list):
            value = [round(v, places) if isinstance(v, float) else v for v in value]
        out[key] = value
    return out


# ------------------------------------------------------------------------------------- normalize

_OUTPUT_FORMATS = (".wav", ".flac")


def _check_paths(source: str, output: str, subtype: str) -> None:
    """Refuse an output that is the input, has no supported format, or has no folder to go in."""
    if os.path.realpath(source) == os.path.realpath(output) or (
        os.path.exists(source) and os.path.exists(output) and os.path.samefile(source, output)
    ):
        raise ParameterError(
            f"OUT={output!r} is the input IN={source!r}; expected another output path "
            "(normalize never overwrites its input)"
        )
    extension = os.path.splitext(output)[1].lower()
    if extension not in _OUTPUT_FORMATS:
        raise ParameterError(
            f"OUT={output!r} has the extension {extension or '(none)'!r}; expected '.wav' or '.flac'"
        )
    if extension == ".flac" and subtype == "FLOAT":
        raise ParameterError(
            f"--subtype FLOAT is not possible for OUT={output!r}: FLAC stores integers only; "
            "expected PCM_24 or PCM_16 (or write a .wav)"
        )
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise ParameterError(f"OUT={output!r}: the folder {folder!r} does not exist; create it first")
    if os.path.isdir(output):
        raise ParameterError(f"OUT={output!r} is a folder; expected the path of the file to write")


def _one_file_graph(source: str, layout: str, dialogue: bool) -> Any:
    """A graph that plays ``source`` unchanged into the master (through a dialogue bus if asked)."""
    from sonicmix.graph import Bus, Graph, Track
    from sonicmix.timeline import Clip, FileSource

    track = Track(
        clips=(Clip(source=FileSource(os.path.abspath(source))),),
        layout=layout,
        output="dialogue" if dialogue else "master",
    )
    buses = {"master": Bus(layout=layout, output=None)}
    if dialogue:
        buses["dialogue"] = Bus(layout=layout)
    return Graph(tracks={"input": track}, buses=buses)


def _move_into_place(produced: str, output: str, source: str, subtype: str) -> None:
    """Put the delivered WAV at ``output`` atomically (as FLAC, losslessly, for a .flac name)."""
    import sonicmix.io as sio

    if os.path.splitext(output)[1].lower() == ".wav":
        os.replace(produced, output)  # same folder, so the same file system: atomic
        return
    file_info = sio.info(produced)
    # The WAV's samples are already dithered to the PCM grid; read as float32 they are exact, so the
    # FLAC gets the very same integers (no second dither).
    with sio.AudioWriter(
        output, file_info.sample_rate, file_info.channels, subtype=subtype, dither=False, inputs=[source]
    ) as writer:
        for block in sio.blocks(produced, _MEASURE_BLOCK_SIZE, dtype="float32"):
            writer.write(block, check=False)


def _cmd_normalize(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    import sonicmix.io as sio
    from sonicmix.deliver import deliver
    from sonicmix.layouts import resolve_layout
    from sonicmix.targets import get_target

    source, output = args.input, args.output
    target = get_target(args.target)
    _check_paths(source, output, args.subtype)
    file_info = sio.info(source)  # raises AudioFileError naming the file if it is missing or unreadable
    if file_info.frames == 0:
        raise AudioFileError(f"cannot normalize {source!r}: the file holds no audio (0 frames)")
    layout = resolve_layout(args.layout, file_info.channels, name=source).name
    if target.measurement == "dialogue" and not args.dialogue:
        raise ParameterError(
            f"target {target.name!r} is dialogue-gated (measurement='dialogue') and IN={source!r} is one "
            "file with no separate dialogue; expected --dialogue if the file is speech only, or a "
            "programme-gated target (see sonicmix targets)"
        )

    logger.info("measuring %s", source)
    before = _measure_file(source, layout, args.bar)
    args.bar.close()
    logger.info(
        "normalizing %s (%s) to %s at %d Hz, %s",
        source,
        _level(before.integrated_lufs, "LUFS"),
        target.name,
        file_info.sample_rate,
        args.subtype,
    )
    folder = os.path.dirname(os.path.abspath(output))
    work = tempfile.mkdtemp(prefix=".sonicmix-normalize-", dir=folder)
    written = False
    try:
        delivery = deliver(
            _one_file_graph(source, layout, args.dialogue),
            target,
            work,
            sample_rate=file_info.sample_rate,
            name="normalized",
            stems=["dialogue"] if args.dialogue else [],
            dialogue=("dialogue",),
            subtype=args.subtype,
            bext=os.path.splitext(output)[1].lower() == ".wav",
            reports=False,
            progress=args.bar,
            **_limiting_option(args),
        )
        args.bar.close()
        if delivery.passed:
            _move_into_place(delivery.files["normalized"], output, source, args.subtype)
            written = True
            logger.info("wrote %s", output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _print_normalized(args, source, output, before, delivery, written)
    return EXIT_OK if delivery.passed else EXIT_NOT_COMPLIANT


def _limiting_option(args: argparse.Namespace) -> dict[str, Any]:
    """``warn_limiting_db`` for deliver() when ``--warn-limiting-db`` was given (else its default)."""
    value = getattr(args, "warn_limiting_db", None)
    return {} if value is None else {"warn_limiting_db": value}


def _print_normalized(
    args: argparse.Namespace, source: str, output: str, before: LoudnessReport, delivery: Any, written: bool
) -> None:
    after = delivery.reports.get("normalized")
    if args.json:
        data = {"input": source, "output": output if written else None, "written": written}
        data.update(delivery.to_dict())
        data["files"] = {"output": output} if written else {}
        data["measurements"] = {
            "input": before.to_dict(series=False),
            "output": None if after is None else after.to_dict(series=False),
        }
        print(json.dumps(data, indent=2, allow_nan=False))
        return
    verdict = "PASSED" if delivery.passed else "FAILED"
    if args.quiet:
        if after is not None and delivery.passed:
            print(
                f"{output}: {verdict} {delivery.target.name}: {_level(_judged(delivery), 'LUFS')}, "
                f"{_level(after.true_peak_dbtp, 'dBTP')} (gain {delivery.gain_db:+.2f} dB)"
                + "".join(f"; warning: {w}" for w in delivery.warnings)
            )
        else:
            why = "; ".join(delivery.reasons) or "the target is not met"
            print(f"{source}: {verdict} {delivery.target.name}: {why} (nothing written)")
        return
    print(f"{source} -> {output}")
    print(f"Input: {_report_line(before)}")
    print(f"Normalized to {delivery.target.name}: {verdict}")
    for reason in delivery.reasons:
        print(f"  reason: {reason}")
    for warning in delivery.warnings:
        print(f"  warning: {warning}")
    if np.isfinite(delivery.gain_db):
        print(
            f"  gain {delivery.gain_db:+.2f} dB after {delivery.iterations} pass(es); limiter max reduction "
            f"{delivery.limiter.get('max_reduction_db', 0.0):.2f} dB"
        )
    if delivery.compliance is not None:
        print(delivery.compliance)
    if written:
        print(f"Wrote {output} ({args.subtype}, {after.sample_rate} Hz, {after.channels} ch)")
    else:
        print(f"Nothing was written to {output}")


def _judged(delivery: Any) -> float:
    """The loudness the target judged (dialogue-gated for dialogue targets)."""
    return float(delivery.compliance["integrated"].measured)


# --------------------------------------------------------------------------------------- targets


def _tolerance_text(target: Any) -> str:
    below, above = target.tolerance_below_lu, target.tolerance_above_lu
    return f"+-{below:.1f} LU" if below == above else f"-{below:.1f}/+{above:.1f} LU"


def _cmd_targets(args: argparse.Namespace) -> int:
    from sonicmix.targets import PRESETS

    if args.json:
        entries = [
            {**t.to_dict(), "lower_lufs": t.lower_lufs, "upper_lufs": t.upper_lufs} for t in PRESETS.values()
        ]
        print(json.dumps(entries, indent=2, allow_nan=False))
        return EXIT_OK
    rows = [("name", "integrated", "tolerance", "true peak", "LRA max", "gating", "also")]
    for t in PRESETS.values():
        also = []
        if t.max_short_term_lufs is not None:
            also.append(f"short-term <= {t.max_short_term_lufs:.1f} LUFS")
        if t.max_momentary_lufs is not None:
            also.append(f"momentary <= {t.max_momentary_lufs:.1f} LUFS")
        if t.max_ldr_lu is not None:
            also.append(f"loudness-to-dialogue <= {t.max_ldr_lu:.1f} LU")
        if t.recommendation:
            also.append("recommendation")
        if t.formats:
            also.append("formats " + " ".join(t.formats))
        rows.append(
            (
                t.name,
                f"{t.integrated_lufs:.1f} LUFS",
                _tolerance_text(t),
                f"<= {t.true_peak_dbtp:.1f} dBTP",
                "-" if t.max_lra_lu is None else f"{t.max_lra_lu:.1f} LU",
                t.measurement,
                ", ".join(also) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print("\nSources:")
    for t in PRESETS.values():
        print(f"  {t.name}: {t.source}")
    return EXIT_OK


# ------------------------------------------------------------------------------- render and demo


def _delivery_line(delivery: Any, where: str) -> str:
    verdict = "PASSED" if delivery.passed else "FAILED"
    if delivery.compliance is None:
        why = "; ".join(delivery.reasons) or "the target is not met"
        return f"{where}: {verdict} {delivery.target.name}: {why} (nothing written)"
    peak = delivery.compliance["true_peak"].measured
    levels = f"{_level(_judged(delivery), 'LUFS')}, {_level(peak, 'dBTP')}"
    text = f"{where}: {verdict} {delivery.target.name}: {levels}"
    text += "".join(f"; warning: {w}" for w in delivery.warnings)
    return text if delivery.passed else f"{text}; {'; '.join(delivery.reasons)}"


def _print_delivery(args: argparse.Namespace, delivery: Any, where: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(delivery.to_dict(), indent=2, allow_nan=False))
    elif args.quiet:
        print(_delivery_line(delivery, where))
    else:
        print(delivery)


def _cmd_demo(args: argparse.Namespace) -> int:
    from sonicmix.demo import run_demo

    logger.info("rendering the demo (%g s) into %s", args.seconds, args.out)
    try:
        delivery = run_demo(args.out, target=args.target, seconds=args.seconds, progress=args.bar)
    finally:
        args.bar.close()
    _print_delivery(args, delivery, args.out)
    return EXIT_OK if delivery.passed else EXIT_NOT_COMPLIANT


def _cmd_render(args: argparse.Namespace) -> int:
    from sonicmix.session import load_session, render_session

    try:
        session = load_session(args.session)
        logger.debug("rendering %s into %s", args.session, args.out)
        options = {"overwrite": args.force, **_limiting_option(args)}
        if args.name is not None:
            options["name"] = args.name
        if args.formats is not None:
            options["formats"] = args.formats
        if args.versions is not None:
            options["versions"] = _versions_spec(args.versions)
        deliver_to = _deliver_spec(args.deliver) if args.deliver else None
        if deliver_to and (args.target or args.formats):
            raise ParameterError(
                "--deliver names the targets and formats; expected no --target or --formats with it"
            )
        delivery = render_session(
            session, args.out, target=args.target, deliver_to=deliver_to, progress=args.bar, **options
        )
    except KeyboardInterrupt:
        raise
    except (SonicmixError, OSError) as err:
        # Session errors start with the file's path; anything else (an unreadable audio file, a full
        # disk) gets the session file's name in front so the message always says which session failed.
        text = str(err)
        prefix = "" if text.startswith(args.session) else f"{args.session}: "
        _error(args, f"{prefix}{text}")
        return EXIT_ERROR
    finally:
        args.bar.close()
    if isinstance(delivery, dict):  # --deliver: one delivery per target, each in DIR/<target>/
        if args.json:
            print(json.dumps({t: d.to_dict() for t, d in delivery.items()}, indent=2, allow_nan=False))
        for name, each in delivery.items():
            logger.info("delivered %s to %s into %s", args.session, name, os.path.join(args.out, name))
            if not args.json:
                _print_delivery(args, each, args.session)
        return EXIT_OK if all(d.passed for d in delivery.values()) else EXIT_NOT_COMPLIANT
    logger.info("rendered %s into %s in %.1f s", args.session, args.out, delivery.elapsed_s)
    _print_delivery(args, delivery, args.session)
    return EXIT_OK if delivery.passed else EXIT_NOT_COMPLIANT


def _deliver_spec(text: str) -> dict[str, list[str]]:
    """``"spotify:opus:96k,apple-podcasts:mp3"`` -> ``{"spotify": ["opus:96k"], "apple-podcasts": ["mp3"]}``.

    Each item is ``TARGET:FORMAT[:SETTING]``; a target named twice gets both formats.

    Examples
    --------
    >>> _deliver_spec("spotify:opus,apple-podcasts:mp3:128k,spotify:flac")
    {'spotify': ['opus', 'flac'], 'apple-podcasts': ['mp3:128k']}
    """
    chosen: dict[str, list[str]] = {}
    for item in (part.strip() for part in text.split(",")):
        target, _, fmt = item.partition(":")
        if not target or not fmt:
            raise ParameterError(
                f"--deliver item {item!r}; expected TARGET:FORMAT such as 'spotify:opus' or "
                "'apple-podcasts:mp3:128k', items separated by commas"
            )
        chosen.setdefault(target, []).append(fmt)
    return chosen


def _versions_spec(text: str) -> dict[str, Any]:
    """``"stereo=ebu-r128:stereo,ears=spotify:binaural"`` -> ``{name: Version}``.

    Each item is ``NAME=TARGET:LAYOUT``, LAYOUT a fold-down layout or ``binaural``.

    Examples
    --------
    >>> {n: v.describe() for n, v in _versions_spec("st=ebu-r128:stereo,ears=spotify:binaural").items()}
    {'st': 'stereo fold-down', 'ears': 'binaural render (MIT KEMAR)'}
    """
    from sonicmix.delivery.versions import Version

    chosen = {}
    for item in (part.strip() for part in text.split(",")):
        name, _, rest = item.partition("=")
        target, _, layout = rest.partition(":")
        if not name or not target or not layout:
            raise ParameterError(
                f"--versions item {item!r}; expected NAME=TARGET:LAYOUT such as 'stereo=ebu-r128:stereo' "
                "or 'headphones=spotify:binaural', items separated by commas"
            )
        if name in chosen:
            raise ParameterError(f"--versions names {name!r} twice; expected each version name once")
        binaural = layout == "binaural"
        chosen[name] = Version(target, layout="stereo" if binaural else layout, binaural=binaural)
    return chosen


def _cmd_podcast(args: argparse.Namespace) -> int:
    from sonicmix.podcast import make_podcast

    where = args.voices[0]
    try:
        delivery = make_podcast(
            args.voices,
            args.out,
            target=args.target,
            name=args.name,
            music=args.music,
            intro=args.intro,
            outro=args.outro,
            denoise=not args.no_denoise,
            automix=False if args.no_automix else None,
            overwrite=args.force,
            progress=args.bar,
            **_limiting_option(args),
        )
    except KeyboardInterrupt:
        raise
    except (SonicmixError, OSError) as err:
        _error(args, str(err))
        return EXIT_ERROR
    finally:
        args.bar.close()
    logger.info("made the podcast %s into %s in %.1f s", args.name, args.out, delivery.elapsed_s)
    _print_delivery(args, delivery, where)
    return EXIT_OK if delivery.passed else EXIT_NOT_COMPLIANT


# ----------------------------------------------------------------------------------------- batch


def _dask_client(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError(
            f"--scheduler {address!r} needs dask.distributed, which is not installed; "
            "install it with: pip install 'sonicmix[cluster]'"
        ) from None
    try:
        return Client(address, timeout="10s")
    except Exception as err:  # OSError, TimeoutError, or dask's own errors for a bad address
        raise ParameterError(
            f"--scheduler {address!r}: cannot connect to the dask scheduler ({type(err).__name__}: {err}); "
            "expected an address such as tcp://host:8786 of a running scheduler"
        ) from None


def _cmd_batch(args: argparse.Namespace) -> int:
    from sonicmix._progress import ProgressBar
    from sonicmix.batch import render_many

    client = _dask_client(args.scheduler) if args.scheduler else None
    bar = ProgressBar(enabled=args.bar.enabled, unit="session")
    try:
        summary = render_many(
            args.sessions,
            args.out,
            target=args.target,
            executor=client,
            max_workers=args.jobs,
            progress=bar,
            overwrite=args.force,
            warn_limiting_db=args.warn_limiting_db,
        )
    finally:
        bar.close()
        if client is not None:
            client.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, allow_nan=False))
    elif args.quiet:
        print(summary.headline())
    else:
        print(summary)
    return summary.exit_code


# --------------------------------------------------------------------------------------- preview


def _cmd_preview(args: argparse.Namespace) -> int:
    from sonicmix.preview import list_devices, preview

    if args.list_devices:
        print(list_devices())
        return EXIT_OK
    if args.source is None:
        raise ParameterError(
            "FILE_OR_SESSION is missing; expected an audio file or a session file (.toml) to play, "
            "or --list-devices"
        )
    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
    # the live meter line goes where progress bars go: a terminal's stderr, or anywhere with --progress
    result = preview(args.source, start_s=args.start, device=device, meter=args.bar.enabled)
    print(result.headline() if args.quiet else result)
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


# ---------------------------------------------------------------------------------------- parser


def _common_options() -> argparse.ArgumentParser:
    """-q, -v and --progress, accepted before the command and after it."""
    # SUPPRESS: a subcommand that is not given an option must not reset what the main parser set.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors and the result (no progress, no log)"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log DEBUG records to stderr")
    common.add_argument(
        "--progress",
        action="store_true",
        help="draw progress bars even when stderr is not a terminal (never with --quiet)",
    )
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="sonicmix",
        description="Audio sound design and mixing to broadcast loudness targets.",
        parents=[common],
        epilog="Exit status: 0 compliant / success, 1 not compliant, 2 error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"sonicmix {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    measure = commands.add_parser(
        "measure",
        parents=[common],
        help="measure loudness (ITU-R BS.1770 / EBU R 128) of audio files",
        description=(
            "Print integrated loudness, loudness range, true and sample peak, and the momentary and "
            "short-term maxima of each FILE. A FILE is required (a shell glob that matches nothing is an "
            "error, not a pass); --demo measures a built-in test signal instead."
        ),
    )
    measure.add_argument("files", nargs="*", metavar="FILE", help="audio files (any format soundfile reads)")
    measure.add_argument(
        "--demo",
        action="store_true",
        help="measure the built-in 20 s test signal (a 1 kHz tone and noise bursts); with FILEs, after them",
    )
    measure.add_argument(
        "--json",
        action="store_true",
        help='print a JSON list of {"file": ..., report}, levels rounded to 0.01 dB / LU',
    )
    measure.add_argument(
        "--series",
        action="store_true",
        help="with --json, add the momentary and short-term loudness every 100 ms and their times",
    )
    measure.add_argument(
        "--layout",
        metavar="NAME",
        help="channel layout (mono, stereo, 5.0, 5.1, 7.1, 5.1.2, 5.1.4, 7.1.2, 7.1.4, 9.1.6, 22.2); by "
        "default the one the file's WAVE channel mask names, else assumed from the channel count",
    )
    measure.add_argument(
        "--target",
        metavar="NAME",
        help="judge each file against this loudness target preset: exit 1 if any file is not compliant",
    )
    measure.add_argument(
        "--dialogue",
        action="store_true",
        help="the files are dialogue only: measure dialogue-gated loudness (for dialogue-gated targets); "
        "without it a dialogue-gated target is judged on an estimate, the mix gated by speech detection",
    )
    measure.set_defaults(run=_cmd_measure)

    normalize = commands.add_parser(
        "normalize",
        parents=[common],
        help="bring an audio file to a loudness target (gain + true-peak limiter) and write it",
        description=(
            "Measure IN, apply the gain and true-peak limiting that bring it to the target (re-measuring "
            "until it lands within 0.1 LU, or the target's tolerance if tighter), and write OUT (.wav or "
            ".flac) atomically. OUT is written only when it complies. Exit status 0 when compliant, "
            "1 when the target cannot be met (nothing is written), 2 on error."
        ),
    )
    normalize.add_argument("input", metavar="IN", help="audio file to normalize (never overwritten)")
    normalize.add_argument(
        "output", metavar="OUT", help="file to write: .wav or .flac (replaced if it exists)"
    )
    normalize.add_argument(
        "--target", required=True, metavar="NAME", help="loudness target preset (see: sonicmix targets)"
    )
    normalize.add_argument(
        "--subtype",
        choices=("PCM_24", "PCM_16", "FLOAT"),
        default="PCM_24",
        help="sample format of OUT (PCM with TPDF dither; default: %(default)s)",
    )
    normalize.add_argument(
        "--layout", metavar="NAME", help="channel layout of IN; assumed from the channel count if omitted"
    )
    normalize.add_argument(
        "--dialogue",
        action="store_true",
        help="IN is speech only: measure it as dialogue (needed for dialogue-gated targets such as netflix)",
    )
    normalize.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_warn_limiting(normalize)
    normalize.set_defaults(run=_cmd_normalize)

    targets = commands.add_parser(
        "targets",
        parents=[common],
        help="list the loudness target presets",
        description=(
            "List every preset: integrated loudness, tolerance, true-peak ceiling, loudness-range limit, "
            "gating (programme or dialogue) and the text each value comes from."
        ),
    )
    targets.add_argument("--json", action="store_true", help="print a JSON list of the presets' fields")
    targets.set_defaults(run=_cmd_targets)

    render = commands.add_parser(
        "render",
        parents=[common],
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
    render.add_argument(
        "--name",
        metavar="NAME",
        help="name of the delivery: the files are NAME.wav, NAME.<stem>.wav, NAME.report.json... "
        "(overrides the session's name, default 'mix'); e.g. episode-01-r128",
    )
    render.add_argument(
        "--force",
        action="store_true",
        help="replace a delivery of the same name already in DIR (without it, that is an error, "
        "reported before rendering)",
    )
    render.add_argument(
        "--formats",
        metavar="LIST",
        help="formats of the mix, comma-separated: wav, flac, mp3[:192k], aac[:256k], opus[:96k], "
        "vorbis[:q5] (overrides the session's; encoded files are verified after decoding)",
    )
    render.add_argument(
        "--deliver",
        metavar="LIST",
        help="render once and deliver to several targets, each into DIR/<target>/: "
        "TARGET:FORMAT items separated by commas, e.g. spotify:opus,apple-podcasts:mp3,ebu-r128:wav",
    )
    render.add_argument(
        "--versions",
        metavar="LIST",
        help="deliver versions of the mix with it, each into DIR/<name>/ to its own target, all or none: "
        "NAME=TARGET:LAYOUT items (LAYOUT a fold-down such as stereo or 5.1, or binaural) separated by "
        "commas, e.g. stereo=ebu-r128:stereo,headphones=spotify:binaural (overrides the session's)",
    )
    _add_warn_limiting(render)
    render.add_argument("--json", action="store_true", help="print the delivery report as JSON")
    render.set_defaults(run=_cmd_render)

    batch = commands.add_parser(
        "batch",
        parents=[common],
        help="render many session files in parallel, each into DIR/<session name>/",
        description=(
            "Deliver every SESSION into DIR/<session file name>/ in parallel (local processes, or a dask "
            "cluster with --scheduler). A failing session does not stop the others; the summary lists "
            "each one. Exit status 0 when all are compliant, 1 when some are not, 2 when any failed."
        ),
    )
    batch.add_argument("sessions", nargs="+", metavar="SESSION", help="session files (.toml)")
    batch.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder (created if missing)")
    batch.add_argument("--target", metavar="NAME", help="loudness target preset; overrides every session's")
    where = batch.add_mutually_exclusive_group()
    where.add_argument(
        "--jobs", "-j", type=_positive_int, metavar="N", help="local worker processes (default: one per CPU)"
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="dask scheduler address (e.g. tcp://10.0.0.5:8786); needs: pip install 'sonicmix[cluster]'",
    )
    batch.add_argument(
        "--force",
        action="store_true",
        help="replace deliveries already in DIR/<session name>/ (without it, such a session is an error)",
    )
    _add_warn_limiting(batch)
    batch.add_argument("--json", action="store_true", help="print the summary as JSON")
    batch.set_defaults(run=_cmd_batch)

    podcast = commands.add_parser(
        "podcast",
        parents=[common],
        help="mix raw voice recordings (and music) into a leveled, cleaned, compliant podcast",
        description=(
            "Mix one recording per microphone into a podcast: each voice is denoised, leveled "
            "(speech-aware), "
            "compressed and de-essed, several voices are automixed, a music bed is ducked under the speech, "
            "an intro and an outro frame the conversation, and the result is delivered to the target with "
            "its stems and reports (see docs/cookbook/podcast-raw.md). Exit status 0 when compliant, 1 when "
            "not, 2 on error."
        ),
    )
    podcast.add_argument("voices", nargs="+", metavar="VOICE", help="voice recordings, one per microphone")
    podcast.add_argument(
        "-o", "--out", required=True, metavar="DIR", help="output folder (created if missing)"
    )
    podcast.add_argument("--music", metavar="FILE", help="music bed under the conversation")
    podcast.add_argument("--intro", metavar="FILE", help="played before the conversation")
    podcast.add_argument("--outro", metavar="FILE", help="played after the conversation")
    podcast.add_argument(
        "--target",
        default="apple-podcasts",
        metavar="NAME",
        help="loudness target preset (default: %(default)s)",
    )
    podcast.add_argument(
        "--name", default="podcast", metavar="NAME", help="name of the delivered files (default: %(default)s)"
    )
    podcast.add_argument("--no-denoise", action="store_true", help="leave the voices' noise as it is")
    podcast.add_argument("--no-automix", action="store_true", help="sum the voices without gain sharing")
    podcast.add_argument("--force", action="store_true", help="replace a delivery of the same name in DIR")
    _add_warn_limiting(podcast)
    podcast.add_argument("--json", action="store_true", help="print the delivery report as JSON")
    podcast.set_defaults(run=_cmd_podcast)

    demo = commands.add_parser(
        "demo",
        parents=[common],
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

    play = commands.add_parser(
        "preview",
        parents=[common],
        help="play an audio file or a session on the sound card with a live loudness meter",
        description=(
            "Play FILE_OR_SESSION (an audio file, or a session file rendered while it plays) on the sound "
            "card, showing momentary, short-term and integrated loudness and the true peak on one line; "
            "Ctrl-C stops and prints the summary. Needs: pip install 'sonicmix[preview]' (and PortAudio: "
            "the Debian package libportaudio2). Exit status 0 when played to the end, 130 when stopped "
            "with Ctrl-C, 2 on error (no output device, among others)."
        ),
    )
    play.add_argument(
        "source", nargs="?", metavar="FILE_OR_SESSION", help="audio file or session file (.toml)"
    )
    play.add_argument(
        "--start", type=float, default=0.0, metavar="S", help="start S seconds into the programme (default 0)"
    )
    play.add_argument(
        "--device", metavar="D", help="output device: its index or part of its name (default: the system's)"
    )
    play.add_argument("--list-devices", action="store_true", help="list the output devices and exit")
    play.set_defaults(run=_cmd_preview)
    return parser


def _add_warn_limiting(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--warn-limiting-db",
        type=float,
        metavar="DB",
        help="warn (the delivery still passes) when the true-peak limiter reduces the gain by more than "
        "DB dB (default: 3)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1; expected at least one worker")
    return value


# ------------------------------------------------------------------------------- logging, errors


class _Formatter(logging.Formatter):
    """``sonicmix: message`` for INFO, ``sonicmix: warning: message`` above; full records with -v."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(message)s")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if self.verbose:
            return text
        if record.levelno >= logging.WARNING:
            return f"sonicmix: {record.levelname.lower()}: {text}"
        return f"sonicmix: {text}"


def _configure_logging(args: argparse.Namespace) -> Callable[[], None]:
    """Send the ``sonicmix`` logger to stderr at the level the options ask for; return an undo."""
    from sonicmix._progress import LogHandler

    root = logging.getLogger("sonicmix")
    saved = (root.level, root.propagate)
    handler = LogHandler(bars=args.bar.enabled)
    handler.setFormatter(_Formatter(args.verbose))
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.INFO
    root.setLevel(level)
    root.propagate = False  # the command line owns stderr: no second copy through the root logger
    root.addHandler(handler)

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        root.propagate = saved[1]

    return undo


def _error(args: argparse.Namespace, message: str) -> None:
    print(f"sonicmix {args.command}: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``sonicmix ...`` and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 on success (compliant), 1 when a delivery does not meet its target,
        2 on any error (usage errors included), 130 when interrupted (Ctrl-C),
        143 when stopped by SIGTERM; both clean up.
    """
    from sonicmix._progress import ProgressBar, stream_is_terminal

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    for option in ("quiet", "verbose", "progress"):  # SUPPRESS left them unset unless given
        setattr(args, option, getattr(args, option, False))
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(
            "sonicmix: error: a command is required (try: sonicmix demo, or sonicmix measure --help)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if args.quiet and args.verbose:
        parser.print_usage(sys.stderr)
        print("sonicmix: error: --quiet and --verbose contradict each other; expected one", file=sys.stderr)
        return EXIT_ERROR
    bars = not args.quiet and (args.progress or stream_is_terminal(sys.stderr))
    args.bar = ProgressBar(enabled=bars)
    undo = _configure_logging(args)
    started = time.perf_counter()
    previous_term = _catch_sigterm()
    try:
        logger.debug(
            "sonicmix %s, Python %s, arguments %s",
            __version__,
            sys.version.split()[0],
            sys.argv[1:] if argv is None else list(argv),
        )
        return int(args.run(args))
    except KeyboardInterrupt:
        args.bar.close()
        print(f"sonicmix {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _Terminated:
        args.bar.close()
        print(f"sonicmix {args.command}: terminated (SIGTERM); nothing partial was left", file=sys.stderr)
        return EXIT_TERMINATED
    except SonicmixError as err:
        _error(args, str(err))
        return EXIT_ERROR
    except OSError as err:  # a full disk, a permission: the message names the path when the OS gives one
        where = f"{err.filename}: " if getattr(err, "filename", None) else ""
        _error(args, f"{where}{err.strerror or err}")
        return EXIT_ERROR
    except Exception as err:  # a bug: a message and exit status 2, the traceback with -v
        logger.debug("traceback", exc_info=True)
        hint = "" if args.verbose else " (run with -v for the traceback)"
        _error(args, f"unexpected {type(err).__name__}: {err}{hint}")
        return EXIT_ERROR
    finally:
        _restore_sigterm(previous_term)
        args.bar.close()
        logger.debug("%s finished in %.2f s", args.command, time.perf_counter() - started)
        undo()


def _catch_sigterm() -> Any:
    """Turn SIGTERM into :class:`_Terminated` while a command runs (main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return None

    def terminate(signum: int, frame: Any) -> None:
        raise _Terminated

    return signal.signal(signal.SIGTERM, terminate)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        import signal

        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
