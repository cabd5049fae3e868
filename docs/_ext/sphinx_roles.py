"""Griffe extension for the docs build: Sphinx cross-reference roles -> links.

The docstrings use Sphinx roles (:class:`Graph`, :func:`~sonicmix.io.read`),
which Markdown would print literally. This rewrites each role as an optional
mkdocs-autorefs reference: a link when the target is rendered somewhere in the
site, plain code otherwise (never a warning). Relative names are looked up the
way Sphinx does: in the enclosing class, then the module, then as written.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|func|meth|attr|data|mod|obj|exc|const):`(~?)([^`<>]+)`")


def _exists(pkg: Any, path: str) -> bool:
    parts = path.split(".")
    if parts[0] != pkg.name:
        return False
    obj = pkg
    for part in parts[1:]:
        try:
            obj = obj.members[part]
        except (KeyError, AttributeError):
            return False
    return True


def _resolve(pkg: Any, obj: Any, target: str) -> str | None:
    scopes = []
    here = obj
    while here is not None:
        if getattr(here, "kind", None) in (griffe.Kind.CLASS, griffe.Kind.MODULE):
            scopes.append(here.path)
        here = here.parent
    for scope in scopes:
        if _exists(pkg, f"{scope}.{target}"):
            return f"{scope}.{target}"
    return target if _exists(pkg, target) else None


def _rewrite(pkg: Any, obj: Any) -> None:
    docstring = obj.docstring
    if docstring is None or ":" not in docstring.value:
        return

    def link(match: re.Match[str]) -> str:
        short, target = match.group(2) == "~", match.group(3).strip().rstrip("()")
        title = target.rsplit(".", 1)[-1] if short else target
        if match.group(1) in ("func", "meth"):
            title += "()"
        path = _resolve(pkg, obj, target)
        if path is None:
            return f"`{title}`"
        return f'<autoref identifier="{path}" optional><code>{title}</code></autoref>'

    docstring.value = _ROLE.sub(link, docstring.value)


def _walk(pkg: Any, obj: Any) -> None:
    _rewrite(pkg, obj)
    for member in obj.members.values():
        if not member.is_alias:
            _walk(pkg, member)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
        _walk(pkg, pkg)

    def on_package_loaded(self, *, pkg: Any, **kwargs: Any) -> None:  # griffe < 1.14
        _walk(pkg, pkg)
