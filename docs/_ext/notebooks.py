"""MkDocs hook: the example notebooks as pages of the site.

Each ``examples/<name>.ipynb`` of the repository becomes a page
``examples/<name>.md``: its markdown cells as they are, its code cells as
Python blocks (outputs are not stored in the notebooks), with a link to the
notebook itself, which is copied into the site next to the page. Only the
``json`` module is needed; no Jupyter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_EXAMPLES = "examples"


def notebook_markdown(notebook: dict[str, Any], file_name: str) -> str:
    """Markdown for one notebook: markdown cells verbatim, code cells fenced as Python."""
    parts = []
    for cell in notebook.get("cells", []):
        source = "".join(cell.get("source", [])).strip("\n")
        if not source:
            continue
        if cell.get("cell_type") == "markdown":
            parts.append(source)
        elif cell.get("cell_type") == "code":
            parts.append(f"```python\n{source}\n```")
    if parts and parts[0].startswith("# "):  # keep the notebook's title first
        title, _, first = parts[0].partition("\n")
        rest = ([first.strip("\n")] if first.strip() else []) + parts[1:]
    else:
        title, rest = f"# {file_name}", parts
    intro = (
        f"This page shows the notebook [`{_EXAMPLES}/{file_name}`]({file_name}) of the repository "
        "(download it and run it in Jupyter, or read the code here)."
    )
    return "\n\n".join([title, intro, *rest]) + "\n"


def on_files(files: Files, config: Any) -> Files:
    root = Path(config["config_file_path"]).resolve().parent / _EXAMPLES
    for path in sorted(root.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        page = f"{_EXAMPLES}/{path.stem}.md"
        files.append(File.generated(config, page, content=notebook_markdown(notebook, path.name)))
        files.append(File.generated(config, f"{_EXAMPLES}/{path.name}", abs_src_path=str(path)))
    return files
