"""Regenerate the model table in README.md from the registry of the installed plugins.

    python scripts/model_table.py          # rewrite the table between the markers in README.md
    python scripts/model_table.py --check  # exit 1 if README.md is out of date

Listing goes through the registry only, so it imports no torch or model code.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from t2v_core import registry

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- models:begin -->", "<!-- models:end -->"
OPENCLIP_SHOWN = 12  # the OpenCLIP family has hundreds of <pretrained>:<arch> names


def table() -> str:
    """The markdown table: one row per plugin and kind, with media and model names."""
    by: dict[tuple[str, str], list] = defaultdict(list)
    for spec in registry.scorers().specs.values():
        if spec.plugin in ("t2v-example", "t2v-worker-example"):  # the test plugins
            continue
        by[(spec.plugin or "", spec.kind)].append(spec)
    lines = ["| plugin | kind | image | video | models |", "| --- | --- | :---: | :---: | --- |"]
    for (plugin, kind), specs in sorted(by.items()):
        # named models (hpsv2, pickscore-v1) before the <pretrained>:<arch> grid, openai's first in that grid
        specs.sort(key=lambda s: (":" in s.name, not s.name.startswith("openai:"), s.name))
        names = [s.name for s in specs]
        if len(names) > 60:
            shown = ", ".join(f"`{n}`" for n in names[:OPENCLIP_SHOWN]) + f", ... ({len(names)} in all: `t2v models --kind {kind}`)"
        else:
            shown = ", ".join(f"`{n}`" for n in names)
        image = "yes" if any("image" in s.media for s in specs) else ""
        video = "yes" if any("video" in s.media for s in specs) else ""
        lines.append(f"| `{plugin}` | {kind} | {image} | {video} | {shown} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = README.read_text()
    new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), BEGIN + "\n" + table() + "\n" + END, text, flags=re.S)
    if "--check" in argv:
        return 0 if new == text else 1
    README.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
