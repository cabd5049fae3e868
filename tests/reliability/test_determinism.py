"""Determinism: the same session gives the same bytes, whatever the block size, threads or memory budget.

What may differ between two deliveries of the same session, and nothing else:

- the BWF ``bext`` OriginationDate and OriginationTime (18 bytes per WAV): the wall clock at writing;
- ``elapsed_s`` in the JSON report: the wall-clock duration of the delivery;
- the output folder's path, where the reports name the files they describe.

The renderer documents that ``block_size`` does not change the samples (every node is
streaming-exact and automation is evaluated per sample); the delivery's closed loop (gain, true-peak
limiter, meters, seeded TPDF dither) works block by block too, so its files must not depend on the
block size either, nor on ``threads`` or on whether the render stays in memory (``memory_mb``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from sonicmix.session import load_session, render_session
from sonicmix.targets import LoudnessTarget
from tests.reliability.helpers import AUDIO, REPORTS, masked, report_without_timing, write_project

#: Loud enough that the limiter works and the loop takes a second pass: the hardest case to reproduce.
LOUD = LoudnessTarget(integrated_lufs=-10.0, name="loud")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("project"))


def test_the_same_session_delivered_twice_gives_the_same_files(project: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    a = render_session(load_session(project), first)
    b = render_session(load_session(project), second)
    assert a.passed and b.passed
    assert sorted(os.listdir(first)) == sorted(os.listdir(second)) == sorted(AUDIO + REPORTS)
    for name in AUDIO:
        raw_a, raw_b = (first / name).read_bytes(), (second / name).read_bytes()
        assert masked(first / name) == masked(second / name), name
        # Only the origination date and time may differ (and only when the clock ticked in between).
        assert len(raw_a) == len(raw_b)
        differing = np.count_nonzero(np.frombuffer(raw_a, np.uint8) != np.frombuffer(raw_b, np.uint8))
        assert differing <= 18, name
    json_name, text_name, plot_name = REPORTS
    assert report_without_timing(first / json_name, first) == report_without_timing(
        second / json_name, second
    )
    text_a = (first / text_name).read_text().replace(str(first), "<out>")
    text_b = (second / text_name).read_text().replace(str(second), "<out>")
    assert text_a == text_b
    assert (first / plot_name).read_bytes() == (second / plot_name).read_bytes()


@pytest.fixture(scope="module")
def loud_reference(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("loud")
    delivery = render_session(load_session(project), folder, target=LOUD, reports=False, max_limiting_db=30.0)
    assert delivery.passed, delivery.reasons
    assert delivery.limiter["max_reduction_db"] > 3.0  # the limiter really works on this one
    assert delivery.iterations >= 2  # and the loop really iterates
    return {name: masked(folder / name) for name in AUDIO}


@pytest.mark.parametrize(
    "options",
    [
        {"block_size": 4096},
        {"block_size": 1000},  # not a power of two, not a multiple of the 256-sample control grid
        {"block_size": 257},
        {"threads": 2},
        {"memory_mb": 0.0},  # the render spilled to temporary files instead of memory
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
def test_block_size_threads_and_memory_do_not_change_a_byte(
    project: Path, tmp_path: Path, loud_reference: dict[str, bytes], options: dict
) -> None:
    delivery = render_session(
        load_session(project), tmp_path, target=LOUD, reports=False, max_limiting_db=30.0, **options
    )
    assert delivery.passed
    for name in AUDIO:
        assert masked(tmp_path / name) == loud_reference[name], name
