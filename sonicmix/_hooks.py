"""Presentation hooks: how the core asks for HTML and plots without importing display or plot.

The renderer, the meter, graphs and deliveries sit below :mod:`sonicmix.display` and
:mod:`sonicmix.plot` and never import them. Their ``_repr_html_`` and the delivery's
loudness plot call the functions registered here instead; the package's top level
(``import sonicmix``) registers the ones that import display and plot when first
called. With nothing registered, results show their plain text and reports have no plot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register", "html", "loudness_png"]

_registered: dict[str, Callable[..., Any]] = {}


def register(
    *, html: Callable[[Any], str] | None = None, loudness_png: Callable[..., bool] | None = None
) -> None:
    """Set the functions the core calls for notebook HTML and the report's loudness plot."""
    for name, fn in (("html", html), ("loudness_png", loudness_png)):
        if fn is not None:
            _registered[name] = fn


def html(obj: Any) -> str | None:
    """The object's notebook HTML, or None (the notebook then shows its text) when nothing is registered."""
    fn = _registered.get("html")
    return None if fn is None else fn(obj)


def loudness_png(report: Any, *, target: Any, path: str, title: str) -> bool:
    """Write the loudness plot of ``report`` to ``path``; False with no plotter (or no matplotlib)."""
    fn = _registered.get("loudness_png")
    return False if fn is None else bool(fn(report, target=target, path=path, title=title))
