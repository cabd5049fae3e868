"""deliver() and deliver_all(): the delivery's stages put in order.

1. **plan** (:func:`_plan`): every deliverable's path, proven inside its folder,
   and the lock, before any work;
2. **render once** (:func:`_render`): the graph into a :class:`KeptRender`;
3. for each target, **the loudness loop** (:func:`~sonicmix.delivery.loop.converge`),
   whose converged pass writes the PCM deliverables (mix as WAV/FLAC, stems, M&E);
4. **encoded formats** (:func:`~sonicmix.delivery.encoded.encode_verified`),
   each verified on its decoded samples;
5. **judge, tag, report, commit**: all files appear together, or none.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np

from sonicmix._threads import Job, drop, pool_for, run_all, submit
from sonicmix.delivery import files
from sonicmix.delivery.formats import AudioFormat, parse_formats
from sonicmix.delivery.kept import KeptRender, bus_channels, bus_layout
from sonicmix.delivery.loop import converge, dialogue_gated_lufs, measured_lufs
from sonicmix.delivery.report import (
    Delivery,
    TargetNotMetError,
    failed,
    limiting_warnings,
    write_reports,
)
from sonicmix.delivery.versions import Version, check_versions, derive, layout_channels, transforms
from sonicmix.delivery.writers import PcmDeliverables
from sonicmix.errors import ParameterError, SonicmixError
from sonicmix.graph import Graph
from sonicmix.loudness import LoudnessMeter, LoudnessReport
from sonicmix.targets import LoudnessTarget, get_target

__all__ = ["deliver", "deliver_all"]


@dataclass
class _Options:
    """deliver()'s keyword arguments that every target of a delivery shares."""

    sample_rate: int
    name: str
    stems: list[str]
    dialogue: tuple[str, ...]
    me_mix: bool
    subtype: str
    bext: bool
    tolerance_lu: float
    max_limiting_db: float
    warn_limiting_db: float
    max_iterations: int
    release_s: float
    lookahead_s: float | None
    strict: bool
    block_size: int
    tail_s: float | str
    seed: int
    inputs: Sequence[str]
    reports: bool
    progress: Callable[[str, int, int], None] | None
    threads: int
    memory_mb: float
    overwrite: bool
    max_codec_passes: int
    codec_margin_db: float
    tags: bool
    stem_ceiling: str
    versions: dict[str, Version]

    @property
    def dialogue_stems(self) -> list[str]:
        return [d for d in self.dialogue if d in self.stems]

    def tell(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


@dataclass
class _Plan:
    """One target's deliverables: where they go, and the limiter that holds its ceiling."""

    target: LoudnessTarget
    out_dir: str
    formats: tuple[AudioFormat, ...]
    final: dict[str, str]  # PCM: the mix's lossless formats, stems, M&E
    encoded: dict[str, tuple[AudioFormat, str]]  # lossy: key -> (format, path)
    limiter: Any
    created: bool = False
    lock: str | None = None

    final_name: str = ""

    @property
    def mix_keys(self) -> list[str]:
        """Keys of the mix's lossless files (WAV, FLAC) among ``final``."""
        return [files.mix_key(self.final_name, f) for f in self.formats if not f.lossy]

    @property
    def formats_by_codec(self) -> dict[str, AudioFormat]:
        return {f.codec: f for f in self.formats}


@dataclass
class _Rendered:
    kept: KeptRender
    before: LoudnessReport
    gate_power: np.ndarray | None
    notes: tuple[str, ...] = ()
    clip_gains_db: dict[str, tuple[float, ...]] = field(default_factory=dict)
    speech_blocks: np.ndarray | None = None  # the detector's speech blocks, where no dialogue stem gates
    layouts: dict[str, str] = field(default_factory=dict)  # bus layouts: the files' WAVE channel masks


def deliver(
    graph: Graph,
    target: LoudnessTarget | str,
    out_dir: str | os.PathLike[str],
    *,
    formats: str | Sequence[str | AudioFormat] | None = None,
    sample_rate: int = 48000,
    name: str = "mix",
    stems: Sequence[str] | None = None,
    dialogue: Sequence[str] = ("dialogue",),
    me_mix: bool = False,
    subtype: Literal["PCM_24", "PCM_16", "FLOAT"] = "PCM_24",
    bext: bool = True,
    tolerance_lu: float = 0.1,
    max_limiting_db: float = 12.0,
    warn_limiting_db: float = 3.0,
    max_iterations: int = 6,
    release_s: float = 0.05,
    lookahead_s: float | None = None,
    strict: bool = False,
    block_size: int | None = None,
    tail_s: float | str = "auto",
    seed: int = 0,
    inputs: Sequence[str] = (),
    reports: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    threads: int = 1,
    memory_mb: float = 768.0,
    overwrite: bool = False,
    max_codec_passes: int = 6,
    codec_margin_db: float = 0.2,
    tags: bool = True,
    stem_ceiling: Literal["shared", "own"] = "shared",
    versions: Mapping[str, Version] | None = None,
) -> Delivery:
    """Render ``graph`` to ``target`` and write the deliverables into ``out_dir``.

    Parameters
    ----------
    graph : Graph
        The mix. Its buses other than the master are the stems.
    target : LoudnessTarget or str
        Target or preset name (see :data:`sonicmix.targets.PRESETS`).
    out_dir : path
        Folder for the files (created if missing): the mix ``<name>.wav`` (and
        ``<name>.<ext>`` for each other format), the stems ``<name>.<stem>.wav``,
        ``<name>.ME.wav`` and, with ``reports``, ``<name>.report.json``,
        ``<name>.report.txt`` and (when matplotlib is installed)
        ``<name>.loudness.png``. A delivery of the same ``name`` already there is
        refused (before anything is rendered) unless ``overwrite=True``, and two
        deliveries of one name into one folder cannot run at once (see ``overwrite``).
    formats : str or sequence, default ("wav",)
        The mix's formats (:mod:`sonicmix.delivery.formats`): ``"wav"``,
        ``"flac"``, ``"mp3:192k"``, ``"aac:256k"``, ``"opus:96k"``,
        ``"vorbis:q5"``..., as a list or one comma-separated string. A spec with
        no bitrate takes the target's (:attr:`LoudnessTarget.formats`). Every
        lossy file is decoded and measured after encoding and judged as decoded;
        where its true peak is over the ceiling, it is encoded again with the
        limiter's ceiling lowered by the overshoot plus ``codec_margin_db``, up
        to ``max_codec_passes`` encodes. Stems and the M&E mix are WAV.
    sample_rate : int, default 48000
    stems : sequence of str, optional
        Buses delivered as stems (default: every bus but the master).
    dialogue : sequence of str, default ("dialogue",)
        Stems that hold dialogue: they gate dialogue-gated measurement and are
        left out of the M&E mix.
    me_mix : bool, default False
        Also deliver the M&E mix (music and effects: every stem but dialogue).
    stem_ceiling : {"shared", "own"}, default "shared"
        ``"shared"``: every stem and the M&E carry the mix's gain and limiter curve,
        so they sum to the mix (null-summing stems); a stem may then peak over the
        ceiling (a note says which). ``"own"``: after that, each stem and the M&E
        goes through a true-peak limiter of its own at the target's ceiling, so
        each meets it when delivered alone; they no longer sum exactly to the mix
        where their limiters worked (:attr:`Delivery.stem_limiting_db` says how much).
    subtype : {"PCM_24", "PCM_16", "FLOAT"}, default "PCM_24"
        Sample format of the WAV and FLAC files (PCM with seeded TPDF dither).
    bext : bool, default True
        Add a BWF ``bext`` chunk with the EBU Tech 3285 loudness fields to the WAV files.
        Its origination date and time are now, or ``SOURCE_DATE_EPOCH`` (seconds,
        UTC) when that environment variable is set, for byte-identical re-deliveries.
    tags : bool, default True
        Write loudness tags into the encoded files, from their decoded measurement:
        ReplayGain 2.0 (FLAC, Vorbis, MP3 as ID3 ``TXXX``, AAC as iTunes freeform atoms)
        and ``R128_TRACK_GAIN`` in Opus (RFC 7845).
    tolerance_lu : float, default 0.1
        The closed loop stops within this distance of the target (or the
        target's own tolerance if tighter).
    max_limiting_db : float, default 12.0
        Largest gain reduction the limiter may apply; needing more fails.
    warn_limiting_db : float, default 3.0
        A delivery whose limiter reduces the gain by more than this many dB
        still passes, with a warning in :attr:`Delivery.warnings` (and the reports).
    overwrite : bool, default False
        Replace the files of a delivery of the same ``name`` in ``out_dir``.
        Without it, any of them existing raises :class:`~sonicmix.errors.AudioFileError`
        before the render starts. Either way a lock file ``.sonicmix-<name>.lock``
        (created atomically, removed at the end) keeps a second delivery of the
        same name out of the folder while one runs: the second one raises
        ``AudioFileError`` at once. A lock left by a killed process on this
        machine is taken over. The replacement is all or nothing: the files
        replaced wait in ``<out_dir>/.sonicmix-<name>.replaced/`` until every new
        file (versions and reports included) is in place, and come back if any
        step fails. A delivery killed mid-commit leaves them there; the next
        delivery of ``name`` into the folder puts them back, or removes them if
        that commit had completed. Files of the folder that the new delivery
        does not write (a format no longer asked for, say) are left as they are.
    strict : bool, default False
        Raise :class:`TargetNotMetError` instead of returning a failed delivery.
    versions : mapping of str to Version, optional
        Versions made from this mix and delivered with it, each into
        ``out_dir/<name>/`` to its own target (:class:`~sonicmix.delivery.versions.Version`):
        a stereo or 5.1 fold-down, a binaural render. Each is derived from the
        render before the mix's gain and limiter and has its own loudness loop.
        The package is all or nothing: when one version (or the mix) cannot be
        delivered, none is written, and each record says why (:attr:`Delivery.versions`).

    Other Parameters
    ----------------
    max_iterations, release_s, seed, inputs
    block_size : int, optional
        Samples per block of the render and of the writing pass. None takes the
        renderer's choice for the graph (:func:`sonicmix.renderer.default_block_size`:
        131072 for stereo, 32768 for 5.1); any size gives the same files.
    tail_s : float or "auto", default "auto"
        Time rendered after the last clip: ``"auto"`` runs until every output has
        decayed below -120 dBFS (see :func:`sonicmix.renderer.render`).
    max_codec_passes : int, default 6
    codec_margin_db : float, default 0.2
    lookahead_s : float, optional
        The true-peak limiter's lookahead: by default 5 ms, or 64 samples where
        that is longer (below 12.8 kHz; see
        :meth:`sonicmix.nodes.limiter.Limiter.min_lookahead_s`). A given value shorter
        than 64 samples at ``sample_rate`` is refused before the render.
    threads : int, default 1
        Threads at work, the calling one included. The render's tracks run a
        block ahead of its buses (see :func:`sonicmix.renderer.render`); the
        deliverables are written and measured file by file while the limiter
        works on the next block; the files' closing ``fsync`` calls wait side by
        side; the lossy formats are encoded side by side (FFmpeg's encoders run
        with Python's lock released). The files, reports and progress calls are
        identical whatever the number.
    memory_mb : float, default 768
        The render (mix and stems, float32) stays in memory for the closed
        loop while it fits in this many MiB; a longer one goes to temporary
        files next to the deliverables, so memory stays constant.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` with ``stage`` one of
        ``"render"``, ``"measure"`` (a pass of the loop) and ``"write"``,
        ``done`` and ``total`` in samples.

    Returns
    -------
    Delivery
    """
    options = _options(graph, locals())
    return _deliver_many(graph, {get_target(target): formats}, os.fspath(out_dir), options, nested=False)[0]


def deliver_all(
    graph: Graph,
    targets: Mapping[str | LoudnessTarget, str | Sequence[str | AudioFormat] | None],
    out_dir: str | os.PathLike[str],
    **options: Any,
) -> dict[str, Delivery]:
    """Render ``graph`` once and deliver it to several targets, each in its own formats.

    Each target gets its own gain and limiter loop from the one kept render, and
    its files in ``out_dir/<target name>/`` (named as by :func:`deliver`, which
    takes the same keyword arguments).

    Examples
    --------
    >>> import tempfile
    >>> from sonicmix.demo import demo_session
    >>> folder = tempfile.TemporaryDirectory()
    >>> done = deliver_all(demo_session(seconds=8.0), {"ebu-r128": "wav", "spotify": "flac"},
    ...                    folder.name, reports=False)
    >>> {t: d.passed for t, d in done.items()}
    {'ebu-r128': True, 'spotify': True}
    >>> sorted(os.listdir(os.path.join(folder.name, "spotify")))[:1]
    ['mix.dialogue.wav']
    >>> folder.cleanup()
    """
    if not isinstance(targets, Mapping) or not targets:
        raise ParameterError(
            f"targets={targets!r}; expected a mapping of targets to formats, e.g. {{'spotify': ['opus']}}"
        )
    unknown = set(options) - set(_KEYWORDS)
    if options.get("versions"):
        raise ParameterError(
            "deliver_all() does not take versions (each version names its own target); "
            "deliver the printmaster and its versions with deliver(..., versions=...)"
        )
    if unknown:
        raise ParameterError(f"deliver_all() got unknown options {sorted(unknown)}; expected {_KEYWORDS}")
    values = {k: v for k, v in _DEFAULTS.items()}
    values.update(options)
    chosen = {get_target(t): f for t, f in targets.items()}
    names = [t.name for t in chosen]
    if len(set(names)) != len(names):
        raise ParameterError(f"targets {names} name one target twice; expected each target once")
    deliveries = _deliver_many(graph, chosen, os.fspath(out_dir), _options(graph, values), nested=True)
    return dict(zip(names, deliveries, strict=True))


# ---------------------------------------------------------------------------------------- options


def _keywords() -> tuple[tuple[str, ...], dict[str, Any]]:
    import inspect

    params = inspect.signature(deliver).parameters
    kw = {n: p.default for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    kw.pop("formats")
    return tuple(kw), kw


def _options(graph: Graph, given: dict[str, Any]) -> _Options:
    """deliver()'s shared keywords, checked (before anything is written)."""
    from sonicmix._checks import check_range

    if not isinstance(graph, Graph):
        raise ParameterError(f"graph={graph!r}; expected a sonicmix.graph.Graph")
    check_range("tolerance_lu", given["tolerance_lu"], low=0.0, low_inclusive=False, hint="in LU, e.g. 0.1")
    check_range("max_limiting_db", given["max_limiting_db"], low=0.0)
    check_range("warn_limiting_db", given["warn_limiting_db"], low=0.0, hint="dB of gain reduction, e.g. 3.0")
    check_range("memory_mb", given["memory_mb"], low=0.0, hint="in MiB; 0 keeps nothing in memory")
    check_range("codec_margin_db", given["codec_margin_db"], low=0.0, high=6.0, hint="in dB, e.g. 0.2")
    if given["stem_ceiling"] not in ("shared", "own"):
        raise ParameterError(
            f"stem_ceiling={given['stem_ceiling']!r}; expected 'shared' (stems sum to the mix) or 'own' "
            "(each stem limited to the ceiling on its own)"
        )
    for key in ("max_iterations", "max_codec_passes"):
        value = given[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(f"{key}={value!r}; expected a whole number >= 1")
    stems = given["stems"]
    stem_names = [b for b in graph.buses if b != graph.master] if stems is None else list(stems)
    for stem in stem_names:
        if stem not in graph.buses or stem == graph.master:
            from sonicmix.errors import GraphError
            from sonicmix.graph import _did_you_mean

            raise GraphError(
                f"stem {stem!r} is not a bus of the graph (other than the master)"
                f"{_did_you_mean(stem, [b for b in graph.buses if b != graph.master])}"
            )
    values = {k: given[k] for k in _KEYWORDS}
    if values["block_size"] is None:  # chosen by the graph's widest strip, as a render does
        from sonicmix.renderer import default_block_size

        values["block_size"] = default_block_size(graph)
    values["stems"], values["dialogue"] = stem_names, tuple(given["dialogue"])
    values["versions"] = check_versions(given["versions"])
    return _Options(**values)


# ------------------------------------------------------------------------------------------ stages


def _plan(
    target: LoudnessTarget, spec: Any, out_dir: str, opt: _Options, *, gate_given: bool = False
) -> _Plan:
    """Paths, formats and limiter of one target, all checked before anything is rendered.

    ``gate_given``: a version whose dialogue gate comes from the printmaster's dialogue stems.
    """
    from sonicmix.nodes.limiter import Limiter

    formats = parse_formats("wav" if spec is None else spec, target.formats)
    if out_dir and os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ParameterError(
            f"out_dir={out_dir!r} is not an existing folder but a file; expected a folder "
            "(one that does not exist yet is created)"
        )
    if opt.subtype == "FLOAT" and any(f.codec == "flac" for f in formats):
        raise ParameterError("formats has 'flac' and subtype='FLOAT'; FLAC stores integers: PCM_16 or PCM_24")
    paths = files.deliverable_paths(out_dir, opt.name, opt.stems, opt.me_mix, opt.reports, formats)
    encoded = {k: (f, paths.pop(k)) for f in formats if f.lossy for k in [files.mix_key(opt.name, f)]}
    if target.measurement == "dialogue" and not opt.dialogue_stems and not gate_given:
        raise ParameterError(
            f"target {target.name!r} is dialogue-gated but none of dialogue={opt.dialogue!r} is among the "
            f"stems {opt.stems}; name the dialogue bus with dialogue=(...)"
        )
    lookahead_s = opt.lookahead_s
    if lookahead_s is None:  # 5 ms, but at least the 64 samples the limiter needs at low rates
        lookahead_s = max(0.005, Limiter.min_lookahead_s(opt.sample_rate))
    limiter = Limiter(ceiling_dbtp=target.true_peak_dbtp, release_s=opt.release_s, lookahead_s=lookahead_s)
    limiter.margin_db(opt.sample_rate)  # a lookahead too short at this rate fails here, before the render
    if encoded:
        from sonicmix.delivery.codecs import check_encoder

        for f, _ in encoded.values():
            check_encoder(f)
    return _Plan(target, out_dir, formats, paths, encoded, limiter, final_name=opt.name)


def _deliver_many(
    graph: Graph, targets: dict[LoudnessTarget, Any], out_dir: str, opt: _Options, *, nested: bool
) -> list[Delivery]:
    """Plan every target, take their locks, render once, deliver to each; clean up whatever happens."""
    started = time.perf_counter()
    plans = [
        _plan(t, spec, os.path.join(out_dir, t.name) if nested else out_dir, opt)
        for t, spec in targets.items()
    ]
    channels = {n: bus_channels(graph, n) for n in ["master", *opt.stems]}
    layouts = {n: bus_layout(graph, n) for n in channels}
    packaged = _plan_versions(opt, plans[0], layouts, channels) if opt.versions and not nested else {}
    every = [*plans, *(p.plan for p in packaged.values())]  # the versions' plans check their own channels
    for plan in plans:
        for f, _ in plan.encoded.values():
            from sonicmix.delivery.codecs import check_channels

            check_channels(f, channels["master"])
    origination = files.origination() if opt.bext else (None, None)  # a bad SOURCE_DATE_EPOCH fails first
    if opt.subtype == "FLOAT":  # ... and so it does for float files' PEAK chunk (32 bits)
        from sonicmix._wav import peak_timestamp

        peak_timestamp()
    root_created = not os.path.exists(out_dir)
    work = None
    pool = None
    try:
        for plan in every:
            plan.created = not os.path.exists(plan.out_dir)
            if plan.created:  # removed again below if the delivery leaves nothing in it
                os.makedirs(plan.out_dir, exist_ok=True)  # a concurrent delivery may create it too
            plan.lock = files.lock(plan.out_dir, opt.name)  # one delivery of a name in a folder at a time
            files.recover(plan.out_dir, opt.name)  # a commit a killed delivery left half done
            if not opt.overwrite:
                files.refuse_existing(
                    {**plan.final, **{k: p for k, (_, p) in plan.encoded.items()}},
                    plan.out_dir,
                    opt.name,
                    opt.reports,
                )
        work = files.work_folder(plans[0].out_dir, opt.name)  # named: recover() clears it after a kill
        # with threads, the deliverables are written and measured file by file in parallel, while
        # this thread limits the next block (and the lossy formats encode side by side)
        pool = pool_for(opt.threads, "sonicmix-deliver")
        # the dialogue gate: every delivery with dialogue stems reports its loudness-to-dialogue ratio
        gated = bool(opt.dialogue_stems)
        detect = not gated and any(p.target.max_ldr_lu is not None for p in every)
        rendered = _render(graph, opt, work, channels, gated, detect, layouts, pool)
        if packaged:
            return [_deliver_package(rendered, plans[0], packaged, opt, pool, origination, started, work)]
        outcomes: list[_Outcome] = []
        try:  # every target's files are committed together (deliver_all), after the last is ready
            for plan in plans:
                outcomes.append(_deliver_to(rendered, plan, opt, pool, origination, started))
            _commit_all(outcomes, opt.name)
        except BaseException:
            for outcome in outcomes:
                outcome.abort()
            raise
        return [outcome.delivery for outcome in outcomes]
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        if pool is not None:
            pool.shutdown()
        for plan in reversed(every):
            if plan.lock is not None:
                files.unlock(plan.lock)
            if plan.created:
                _remove_if_empty(plan.out_dir)
        if root_created and nested:
            _remove_if_empty(out_dir)


# ---------------------------------------------------------------------------------------- versions


@dataclass
class _Packaged:
    """A version of the printmaster: how it is made, its options and its plan."""

    version: Version
    opt: _Options
    plan: _Plan
    steps: dict[str, Any]  # bus -> transform (sonicmix.delivery.versions)
    keep: list[str]  # buses the version delivers, the mix first


def _plan_versions(
    opt: _Options, main: _Plan, layouts: dict[str, str], channels: dict[str, int]
) -> dict[str, _Packaged]:
    """Plan every version (paths, formats, transforms, HRIRs read), all before the render."""
    packaged = {}
    out_dir = main.out_dir
    taken = {**main.final, **{k: path for k, (_, path) in main.encoded.items()}}
    reports = [opt.name + suffix for suffix in files.REPORT_SUFFIXES] if opt.reports else []
    taken.update({r: os.path.join(out_dir, r) for r in reports})
    for name, version in opt.versions.items():
        try:
            packaged[name] = _plan_version(version, name, opt, out_dir, layouts, channels, taken)
        except SonicmixError as err:  # the message names the version at fault
            raise type(err)(f"versions[{name!r}]: {err}") from None
    return packaged


def _plan_version(
    version: Version,
    name: str,
    opt: _Options,
    out_dir: str,
    layouts: dict[str, str],
    channels: dict[str, int],
    taken: dict[str, str],
) -> _Packaged:
    folder = os.path.join(out_dir, name)
    clash = [key for key, path in taken.items() if os.path.normpath(path) == os.path.normpath(folder)]
    if clash:
        raise ParameterError(
            f"the version's folder {folder!r} would be the printmaster's {clash[0]!r} file; expected a "
            "version name that is not one of the delivery's file names"
        )
    if version.target.measurement == "dialogue" and not opt.dialogue_stems:
        raise ParameterError(
            f"target {version.target.name!r} is dialogue-gated but none of dialogue={opt.dialogue!r} is "
            f"among the printmaster's stems {opt.stems}; name the dialogue bus with dialogue=(...)"
        )
    stems = list(opt.stems) if version.stems else []
    vopt = dataclasses.replace(opt, stems=stems, me_mix=opt.me_mix and version.stems, versions={})
    buses = ["master", *dict.fromkeys([*stems, *opt.dialogue_stems])]
    steps = transforms(
        version, {n: layouts[n] for n in buses}, {n: channels[n] for n in buses}, opt.sample_rate
    )
    plan = _plan(version.target, version.formats, folder, vopt, gate_given=bool(opt.dialogue_stems))
    from sonicmix.delivery.codecs import check_channels

    for f, _ in plan.encoded.values():  # a binaural version is two channels, a fold-down its layout's
        check_channels(f, layout_channels(steps["master"].layout))
    return _Packaged(version, vopt, plan, steps, ["master", *stems])


def _deliver_package(
    rendered: _Rendered,
    plan: _Plan,
    packaged: dict[str, _Packaged],
    opt: _Options,
    pool: Any,
    origination: tuple[str | None, str | None],
    started: float,
    work: str,
) -> Delivery:
    """The printmaster and its versions, committed together or not at all."""
    outcomes: dict[str, _Outcome] = {}
    printmaster: list[_Outcome] = []  # its outcome once there is one, aborted with the versions' on an error
    try:
        for name, p in packaged.items():
            derived = derive(
                rendered.kept,
                p.steps,
                p.keep,
                opt.dialogue_stems,
                os.path.join(work, f"version-{name}"),
                opt.memory_mb,
                opt.block_size,
            )
            own = _Rendered(
                derived.kept,
                derived.before,
                derived.gate_power,
                speech_blocks=rendered.speech_blocks,
                layouts=derived.kept.layouts,
            )
            try:
                outcomes[name] = _deliver_to(own, p.plan, p.opt, pool, origination, started)
            except TargetNotMetError as err:  # strict=True: say which version
                raise TargetNotMetError(f"version {name!r} ({p.plan.target.name}): {err}") from None
        records = {n: o.delivery for n, o in outcomes.items()}
        main = _deliver_to(rendered, plan, opt, pool, origination, started, versions=records)
        printmaster.append(main)
        everything = [main, *outcomes.values()]
        if all(o.ready for o in everything):
            _commit_all(everything, opt.name)
            return main.delivery
    except BaseException:
        for outcome in [*outcomes.values(), *printmaster]:
            outcome.abort()
        raise
    for outcome in everything:
        outcome.abort()
    return _withheld(main.delivery, records)


def _commit_all(outcomes: list[_Outcome], name: str) -> None:
    """Put every file of every outcome under its final name, in one commit: all of them, or none.

    The files of an earlier delivery that these replace are set aside first and deleted only
    once everything (printmaster, stems, encodes, reports, every version) is in place; on a
    failure they are put back (:func:`sonicmix.delivery.files.commit`). The caller aborts the
    outcomes when this raises, removing the temporary files.
    """
    files.commit(name, [move for outcome in outcomes for move in outcome.moves()])


def _with_versions(delivery: Delivery, versions: Mapping[str, Delivery]) -> Delivery:
    """The printmaster's record with its versions: it passes only when every version does."""
    reasons = [f"version {n!r}: {r}" for n, v in versions.items() for r in v.reasons]
    return dataclasses.replace(
        delivery,
        passed=delivery.passed and all(v.passed for v in versions.values()),
        reasons=delivery.reasons + tuple(reasons),
        versions=dict(versions),
    )


def _withheld(main: Delivery, versions: dict[str, Delivery]) -> Delivery:
    """The records of a package not written because one of its parts could not be delivered."""
    missing = [f"version {n!r}" for n, v in versions.items() if not v.files]
    missing += [] if main.files else ["the printmaster"]
    why = (
        f"withheld: {' and '.join(missing)} could not be delivered, and a printmaster and its "
        "versions are delivered together or not at all"
    )

    def hold(d: Delivery) -> Delivery:
        if not d.files:
            return d
        return dataclasses.replace(d, passed=False, reasons=(*d.reasons, why), files={})

    held = {n: hold(v) for n, v in versions.items()}
    if main.files:  # its record already lists the versions' own reasons
        return dataclasses.replace(hold(main), versions=held)
    return _with_versions(main, held)


def _remove_if_empty(folder: str) -> None:
    """Remove a folder this delivery created and left empty; another process may be filling it now."""
    try:
        os.rmdir(folder)
    except OSError:  # not empty (another delivery's lock or files arrived meanwhile), or already gone
        pass


def _render(
    graph: Graph,
    opt: _Options,
    work: str,
    channels: dict[str, int],
    gated: bool,
    detect: bool,
    layouts: dict[str, str],
    pool: Any = None,
) -> _Rendered:
    """Render the graph once into a kept render; measure the mix (and the dialogue gate) on the way.

    ``gated``: the dialogue stems' block powers gate dialogue loudness. ``detect``: with no
    dialogue stem, the built-in speech detector listens to the mix for it instead. With a
    ``pool``, the render's tracks run on it, and a block is metered and kept there while the
    next one goes through the buses on this thread.
    """
    from sonicmix.renderer import render_blocks

    kept = KeptRender(work, dict(channels), opt.sample_rate, opt.memory_mb, layouts)
    meter = None
    dialogue_meters: dict[str, LoudnessMeter] = {}
    handed: list[list[Job]] = []  # the block being metered and kept

    def settle() -> None:  # each meter (and the kept render) takes its blocks in order
        if handed:
            run_all(handed[-1])
            handed.pop()

    blocks = render_blocks(
        graph,
        sample_rate=opt.sample_rate,
        block_size=opt.block_size,
        stems=opt.stems,
        tail_s=opt.tail_s,
        progress=lambda done, total: opt.tell("render", done, total),
        threads=opt.threads,
        pool=pool,
    )
    try:
        for _, out in blocks:
            if meter is None:  # made once (a meter costs a millisecond to set up)
                meter = _gate_meter(opt, layouts["master"], detect)
                dialogue_meters = {d: _gate_meter(opt, layouts[d]) for d in opt.dialogue_stems if gated}
            calls = [partial(meter.update, out["master"])]
            calls += [partial(m.update, out[d]) for d, m in dialogue_meters.items()]
            settle()
            handed.append([submit(pool, call) for call in [*calls, partial(kept.append, out)]])
            if pool is None:
                settle()
        settle()
    except BaseException:
        for jobs in handed:  # nothing may still write into the work files when they are removed
            drop(jobs)
        raise
    finally:  # the render's own jobs end too
        blocks.close()
    kept.commit()
    if meter is None:
        raise ParameterError("the graph renders no samples; expected clips on its tracks (or duration_s)")
    # dialogue gate: summed 400 ms block powers of the dialogue stems, before gain
    gate = sum(m.report().block_powers for m in dialogue_meters.values()) if dialogue_meters else None
    speech = None
    if detect:
        from sonicmix.speech.activity import THRESHOLD
        from sonicmix.speech.gating import speech_blocks

        before, probabilities = meter.finish()
        speech = speech_blocks(probabilities >= THRESHOLD, meter.hop_s, before.block_powers.size)
    else:
        before = meter.report()
    return _Rendered(kept, before, gate, tuple(blocks.notes), dict(blocks.clip_gains_db), speech, layouts)


def _gate_meter(opt: _Options, layout: str, detect: bool = False) -> Any:
    """A meter of the render before gain (no true peak): the speech detector's, with ``detect``."""
    if detect:
        from sonicmix.speech.gating import SpeechMeter

        return SpeechMeter(opt.sample_rate, layout=layout, true_peak=False)
    return LoudnessMeter(opt.sample_rate, layout=layout, true_peak=False)


def _deliver_to(
    rendered: _Rendered,
    plan: _Plan,
    opt: _Options,
    pool: Any,
    origination: tuple[str | None, str | None],
    started: float,
    versions: Mapping[str, Delivery] | None = None,
) -> _Outcome:
    """Stages 3 to 5 for one target, from the kept render, up to the commit (see :class:`_Outcome`)."""
    target, kept = plan.target, rendered.kept
    gate_power = rendered.gate_power if target.measurement == "dialogue" else None
    closeness = min(
        opt.tolerance_lu,
        target.tolerance_below_lu or opt.tolerance_lu,
        target.tolerance_above_lu or opt.tolerance_lu,
    )
    loop = {
        "closeness": closeness,
        "max_iterations": opt.max_iterations,
        "max_limiting_db": opt.max_limiting_db,
        "block_size": opt.block_size,
    }
    channels = dict(kept.channels)
    if opt.me_mix:
        channels["ME"] = channels["master"]

    def pcm() -> PcmDeliverables:
        return PcmDeliverables(
            plan.final,
            plan.mix_keys,
            opt.stems,
            opt.dialogue_stems,
            channels,
            opt.sample_rate,
            opt.subtype,
            opt.seed,
            opt.inputs,
            pool,
            reserve_bext=opt.bext,
            own_limiter=plan.limiter if opt.stem_ceiling == "own" else None,
            layouts=rendered.layouts,
            ceiling_dbtp=target.true_peak_dbtp,
        )

    start = measured_lufs(rendered.before, gate_power)
    if not math.isfinite(start):
        reasons = [
            "the programme is silent or shorter than one 400 ms block: its loudness is undefined, "
            "so no gain can bring it to the target"
        ]
        return _Outcome(
            failed(
                target,
                reasons,
                math.nan,
                0,
                {"max_reduction_db": 0.0, "time_limiting_percent": 0.0},
                opt.strict,
                started,
            )
        )
    done = converge(
        kept,
        target,
        plan.limiter,
        target.integrated_lufs - start,
        gate_power=gate_power,
        tell=opt.tell,
        sink_factory=pcm if plan.final else None,
        pool=pool,
        **loop,
    )
    if done.reasons:
        return _Outcome(
            failed(target, done.reasons, done.gain_db, done.iterations, done.limiter, opt.strict, started)
        )
    written = done.written
    if written is None and plan.final:  # the converged pass measured only: one more pass writes
        from sonicmix.delivery.loop import limited_pass

        written = pcm()
        try:
            rate, size = opt.sample_rate, opt.block_size
            limited_pass(kept, done.gain_db, plan.limiter, rate, size, written, opt.tell, pool=pool)
        except BaseException:
            written.abort()
            raise
    encodings: dict[str, Any] = {}
    reports: list[tuple[str, str]] = []
    try:
        measured = _finish_pcm(written, pool) if written is not None else {}
        _encode_all(encodings, kept, plan, opt, done, gate_power, loop, pool)
        reasons = [r for e in encodings.values() for r in e.reasons]
        if reasons:
            raise _CodecFailure(reasons)
        delivery = _judge(rendered, plan, opt, done, measured, encodings, started)
        if written is not None and written.own:
            delivery = dataclasses.replace(delivery, stem_limiting_db=written.limiting_db)
        if written is not None and written.downmix is not None:
            folds = tuple(written.downmix.report())
            over = tuple(
                f"the fold-down to {d.layout} peaks at {d.true_peak_dbtp:.2f} dBTP, over the "
                f"{d.ceiling_dbtp:g} dBTP ceiling (a player folding the mix down would clip or exceed it)"
                for d in folds
                if d.clipped
            )
            delivery = dataclasses.replace(delivery, downmix=folds, notes=delivery.notes + over)
        _finish_files(written, encodings, delivery, plan, opt, origination)
        if versions:
            delivery = _with_versions(delivery, versions)
        if opt.reports:
            reports = write_reports(delivery, plan.out_dir, opt.name)
        return _Outcome(delivery, written, encodings, reports)
    except _CodecFailure as failure:
        _abort(written, encodings, reports)
        return _Outcome(
            failed(
                target,
                failure.reasons,
                done.gain_db,
                done.iterations,
                done.limiter,
                opt.strict,
                started,
                encodings,
            )
        )
    except BaseException:
        _abort(written, encodings, reports)
        raise


@dataclass
class _Outcome:
    """A delivery ready to commit: its record and its files under temporary names (none if it failed)."""

    delivery: Delivery
    written: PcmDeliverables | None = None
    encodings: dict[str, Any] = field(default_factory=dict)
    reports: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Whether there are files to commit (a failed delivery has none)."""
        return self.written is not None or bool(self.encodings) or bool(self.reports)

    def moves(self) -> list[tuple[str, str]]:
        """Every finished file as ``(temporary name, final name)``: the mix's, stems, encodes, reports."""
        moves: list[tuple[str, str]] = []
        if self.written is not None:
            moves += [(tmp, self.written.final[key]) for key, tmp in self.written.pending().items()]
        moves += [(e.writer.finish(), e.path) for e in self.encodings.values() if e.writer is not None]
        return moves + list(self.reports)

    def abort(self) -> None:
        _abort(self.written, self.encodings, self.reports)


class _CodecFailure(Exception):
    """An encoded format cannot meet the target after the codec (the delivery fails, nothing written)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _encode_all(
    encodings: dict[str, Any],
    kept: KeptRender,
    plan: _Plan,
    opt: _Options,
    done: Any,
    gate_power: np.ndarray | None,
    loop: dict[str, Any],
    pool: Any,
) -> None:
    """Encode every lossy format into ``encodings``: in the pool's threads and this one, if a pool.

    The encoders and decoders run in FFmpeg with Python's lock released, so the formats of a
    delivery encode side by side on as many cores as ``threads``. Every encode started is waited
    for before an error is raised, and is in ``encodings`` then, so that the caller can abort all
    of them; one not started yet when an encode fails is not started.
    """
    items = list(plan.encoded.items())
    if pool is None or len(items) < 2:
        for key, (fmt, path) in items:
            encodings[key] = _encode(kept, fmt, path, plan, opt, done, gate_power, loop)
        return
    import threading

    lock = threading.Lock()

    def tell(stage: str, done_samples: int, total: int) -> None:  # one progress call at a time
        with lock:
            opt.tell(stage, done_samples, total)

    shared = dataclasses.replace(opt, progress=tell if opt.progress is not None else None)
    finished: dict[str, Any] = {}

    def encode(key: str, fmt: AudioFormat, path: str) -> None:
        finished[key] = _encode(kept, fmt, path, plan, shared, done, gate_power, loop)

    try:  # this thread encodes too: the formats no worker has started yet
        run_all([submit(pool, partial(encode, key, fmt, path)) for key, (fmt, path) in items])
    finally:  # in the formats' order, whichever thread finished first
        encodings.update((key, finished[key]) for key, _ in items if key in finished)


def _encode(
    kept: KeptRender,
    fmt: AudioFormat,
    path: str,
    plan: _Plan,
    opt: _Options,
    done: Any,
    gate_power: np.ndarray | None,
    loop: dict[str, Any],
) -> Any:
    from sonicmix.delivery.encoded import encode_verified

    return encode_verified(
        kept,
        fmt,
        path,
        plan.target,
        plan.limiter,
        done.gain_db,
        gate_power=gate_power,
        loop=loop,
        writer_options={"subtype": opt.subtype, "seed": opt.seed, "overwrite": True},
        margin_db=opt.codec_margin_db,
        max_passes=opt.max_codec_passes,
        tell=opt.tell,
    )


def _judge(
    rendered: _Rendered,
    plan: _Plan,
    opt: _Options,
    done: Any,
    measured: dict[str, LoudnessReport],
    encodings: dict[str, Any],
    started: float,
) -> Delivery:
    """Judge the mix as written (lossless files as stored, encoded ones as decoded) against the target."""
    from sonicmix.compliance import evaluate

    target = plan.target
    measured = dict(measured)
    for key, encoding in encodings.items():
        measured[key] = encoding.decoded
    mix_keys = [*plan.mix_keys, *encodings]
    for key in mix_keys:  # dialogue loudness, for dialogue-gated targets and the loudness-to-dialogue ratio
        dialogue = _dialogue_lufs(measured[key], measured, opt, rendered)
        if dialogue is not None:
            measured[key] = dataclasses.replace(measured[key], dialogue_lufs=dialogue)
    judged = {key: evaluate(measured[key], target) for key in mix_keys}
    compliance = judged[mix_keys[0]]
    reasons = [
        f"{key}: {c.reason}" if len(mix_keys) > 1 else str(c.reason)
        for key, verdict in judged.items()
        for c in verdict.failures
    ]
    notes = tuple(
        f"{key} peaks at {r.true_peak_dbtp:.2f} dBTP, over the {target.true_peak_dbtp:g} dBTP "
        "ceiling (stems share the mix's gain and limiter so they sum to it; stem_ceiling='own' limits "
        "each stem to the ceiling on its own)"
        for key, r in measured.items()
        if key not in mix_keys and r.true_peak_dbtp > target.true_peak_dbtp
    )
    passed = all(v.passed for v in judged.values())
    if opt.strict and not passed:
        raise TargetNotMetError(
            f"{'; '.join(reasons) or 'the delivery did not meet its target'} (nothing was written)"
        )
    paths = {**plan.final, **{k: p for k, (_, p) in plan.encoded.items()}}
    order = [*plan.mix_keys, *encodings, *(k for k in plan.final if k not in plan.mix_keys)]
    return Delivery(
        target=target,
        passed=passed,
        reasons=tuple(reasons),
        gain_db=done.gain_db,
        iterations=done.iterations,
        limiter=done.limiter,
        files={k: paths[k] for k in order},
        reports={k: measured[k] for k in order},
        compliance=compliance,
        elapsed_s=time.perf_counter() - started,
        notes=notes + rendered.notes,
        warnings=limiting_warnings(done.limiter, opt.warn_limiting_db, target),
        clip_gains_db=rendered.clip_gains_db,
        encodings=encodings,
        stem_ceiling=opt.stem_ceiling,
    )


def _dialogue_lufs(
    report: LoudnessReport, measured: dict[str, LoudnessReport], opt: _Options, rendered: _Rendered
) -> float | None:
    """The mix's dialogue loudness: gated by the dialogue stems as written, else by the speech detector."""
    if opt.dialogue_stems:
        power = sum(measured[d].block_powers for d in opt.dialogue_stems)
        return dialogue_gated_lufs(report.block_powers, power)
    if rendered.gate_power is not None:  # a version without stems: gated by the printmaster's dialogue
        return dialogue_gated_lufs(report.block_powers, rendered.gate_power)
    if rendered.speech_blocks is not None:
        from sonicmix.speech.gating import speech_gated_lufs

        return speech_gated_lufs(report.block_powers, rendered.speech_blocks)
    return None


def _finish_files(
    written: PcmDeliverables | None,
    encodings: dict[str, Any],
    delivery: Delivery,
    plan: _Plan,
    opt: _Options,
    origination: tuple[str | None, str | None],
) -> None:
    """Loudness metadata into the finished files, still under their temporary names."""
    if opt.bext and written is not None:
        # The writers left room for the bext chunk: write_bext fills it in place (no copy of the file).
        from sonicmix.bwf import ascii_rendition, write_bext

        date, clock = origination
        for key, pending in written.pending().items():
            if pending.endswith(".partial") and plan.final[key].endswith(".wav"):
                write_bext(
                    pending,
                    report=delivery.reports[key],
                    description=ascii_rendition(f"sonicmix {opt.name} {key} for {plan.target.name}"),
                    origination_date=date,
                    origination_time=clock,
                )
    if opt.tags:
        from sonicmix.delivery.tags import write_loudness_tags

        for key, encoding in encodings.items():
            write_loudness_tags(encoding.writer.finish(), encoding.format, delivery.reports[key])
        if written is not None:
            for key, pending in written.pending().items():
                if plan.final[key].endswith(".flac"):
                    write_loudness_tags(pending, plan.formats_by_codec["flac"], delivery.reports[key])


def _finish_pcm(written: PcmDeliverables, pool: Any) -> dict[str, LoudnessReport]:
    """Complete the PCM files under their temporary names and return their reports.

    Each file is flushed to disk with an ``fsync`` of its own before the commit moves it (what
    makes the commit atomic); with threads those run side by side, the disk's waits overlapping.
    """
    if pool is not None:
        run_all([submit(pool, writer.finish) for writer in written.writers.values()])
    return written.finish()


def _abort(
    written: PcmDeliverables | None, encodings: dict[str, Any], reports: list[tuple[str, str]]
) -> None:
    if written is not None:
        written.abort()
    for encoding in encodings.values():
        if encoding.writer is not None:
            encoding.writer.abort()
    for tmp, _ in reports:
        if os.path.exists(tmp):
            os.unlink(tmp)


_KEYWORDS, _DEFAULTS = _keywords()
