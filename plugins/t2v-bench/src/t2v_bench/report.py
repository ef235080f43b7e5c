"""Reports of benchmark results: terminal tables, a summary CSV/JSON, and a self-contained HTML page with
per-skill bar charts comparing every scorer and generator found in a results folder."""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

from .base import BenchmarkDataError

SKILL_ORDER = ["attribute", "scene", "spatial relation", "action relation", "part relation", "basic",
               "counting", "comparison", "differentiation", "negation", "universal", "advanced", "all"]


def load_results(path: str | Path) -> list[dict[str, Any]]:
    """Every result record in a results folder (``*.json`` written by ``t2v bench run``), or one file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise BenchmarkDataError(f"results path {p} does not exist; run `t2v bench run ... --results {p}` first")
    files = [p] if p.is_file() else sorted(p.glob("*.json"))
    records = []
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BenchmarkDataError(f"{f} is not a t2v-bench result file ({e})") from e
        if isinstance(data, dict) and "benchmark" in data and "metrics" in data:
            data["_file"] = str(f)
            records.append(data)
    if not records:
        raise BenchmarkDataError(f"no t2v-bench result files (*.json with 'benchmark' and 'metrics') in {p}")
    return records


# ------------------------------------------------------------------------------------------------ text


def format_table(table: dict[str, Any]) -> str:
    """A table as aligned plain text."""
    cols = [str(c) for c in table["columns"]]
    rows = [[str(c) for c in r] for r in table["rows"]]
    widths = [max(len(c), *(len(r[i]) for r in rows if i < len(r))) if rows else len(c) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    out = [table.get("title", ""), line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def format_record(record: dict[str, Any]) -> str:
    """Every table of one result, with a header naming the benchmark and the scorer."""
    head = f"== {record['benchmark']} scored by {record['model']} ({record.get('num_samples', '?')} samples) =="
    tables = record.get("tables") or [{"title": "metrics", "columns": ["metric", "value"],
                                       "rows": [[k, _num(v)] for k, v in record.get("metrics", {}).items()]}]
    parts = [head, *(format_table(t) for t in tables)]
    failures = record.get("failures") or []
    if failures:
        rows = len({f["sample"] for f in failures})
        parts.append(f"failed: {len(failures)} pair(s) could not be scored ({rows} sample(s)); their rows are left "
                     "out of the metrics and carry the error in the result's items; rerun the same command to "
                     "retry only them")
    notes = record.get("notes") or []
    if notes:
        kinds = Counter(n["kind"] for n in notes)
        parts.append(f"note: {len(notes)} score(s) behind these metrics are not exact values ("
                     + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
                     + "); the result file lists them under 'notes'")
    return "\n\n".join(parts)


def summary_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (benchmark, model, metric): the flat view written to ``summary.csv``."""
    rows = []
    for r in records:
        for k, v in r.get("metrics", {}).items():
            rows.append({"benchmark": r["benchmark"], "model": r["model"], "metric": k, "value": v})
    return rows


def skill_matrix(records: list[dict[str, Any]], benchmark: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Per-skill means of every (scorer, generator) subject of one benchmark; skills in the reference order."""
    subjects: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["benchmark"] != benchmark:
            continue
        for gen, skills in (r.get("skills") or {}).items():
            subjects[f"{r['model']} / {gen}"] = skills
    seen = {s for sk in subjects.values() for s in sk}
    order = [s for s in SKILL_ORDER if s in seen] + sorted(seen - set(SKILL_ORDER))
    return order, subjects


def chart_matrix(records: list[dict[str, Any]]) -> dict[str, tuple[list[str], dict[str, dict[str, Any]]]]:
    """The results' own charts (``record["charts"]``) merged by title: one bar per (scorer, series) and label,
    so that every scorer of a benchmark is drawn side by side."""
    merged: dict[str, tuple[list[str], dict[str, dict[str, Any]]]] = {}
    for r in records:
        for chart in r.get("charts") or []:
            labels, subjects = merged.setdefault(chart["title"], ([], {}))
            labels += [lab for lab in chart["labels"] if lab not in labels]
            series = chart.get("values") or {}
            for name, values in series.items():
                subject = r["model"] if len(series) == 1 else f"{r['model']} / {name}"
                subjects[subject] = {lab: {"mean": v} for lab, v in zip(chart["labels"], values) if v is not None}
    return merged


# ------------------------------------------------------------------------------------------------ charts


def bar_chart_svg(skills: list[str], subjects: dict[str, dict[str, Any]], title: str,
                  ylabel: str = "mean score") -> str:
    """Grouped bar chart (skills on x, one bar per subject) as inline SVG: matplotlib when installed, else a
    plain SVG drawn here. Error bars show each entry's ``std`` when it has one."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return _plain_svg(skills, subjects, title)
    names = list(subjects)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(skills) + 0.3 * len(names)), 3.6), dpi=100)
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        vals = [subjects[name].get(s, {}).get("mean") for s in skills]
        errs = [subjects[name].get(s, {}).get("std") for s in skills]
        xs = [k + (i - (len(names) - 1) / 2) * width for k in range(len(skills))]
        ax.bar(xs, [v if v is not None else 0.0 for v in vals], width,
               yerr=[e if e is not None else 0.0 for e in errs], capsize=2, label=name)
    ax.set_xticks(range(len(skills)))
    ax.set_xticklabels(skills, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def _plain_svg(skills: list[str], subjects: dict[str, dict[str, Any]], title: str) -> str:
    names = list(subjects)
    colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]
    w_group, h, top, left = 16 * max(1, len(names)) + 20, 200, 30, 40
    width = left + w_group * len(skills) + 200
    vmax = max([v.get("mean") or 0.0 for sk in subjects.values() for v in sk.values()] + [1e-9])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + top + 80}">',
             f'<text x="{left}" y="18" font-size="13">{html.escape(title)}</text>']
    for k, skill in enumerate(skills):
        x0 = left + k * w_group
        for i, name in enumerate(names):
            v = subjects[name].get(skill, {}).get("mean") or 0.0
            bh = h * max(v, 0.0) / vmax
            parts.append(f'<rect x="{x0 + i * 16}" y="{top + h - bh:.1f}" width="14" height="{bh:.1f}" '
                         f'fill="{colors[i % len(colors)]}"><title>{html.escape(name)} {html.escape(skill)}: '
                         f'{v:.4f}</title></rect>')
        parts.append(f'<text x="{x0}" y="{top + h + 14}" font-size="10" transform="rotate(30 {x0} {top + h + 14})">'
                     f'{html.escape(skill)}</text>')
    for i, name in enumerate(names):
        y = top + 14 * i
        parts.append(f'<rect x="{width - 190}" y="{y}" width="10" height="10" fill="{colors[i % len(colors)]}"/>'
                     f'<text x="{width - 175}" y="{y + 9}" font-size="10">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ html


def _html_table(table: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table["columns"])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in table["rows"])
    return f"<h4>{html.escape(table.get('title', ''))}</h4><table><tr>{head}</tr>{body}</table>"


def html_report(records: list[dict[str, Any]]) -> str:
    """A self-contained HTML page: per benchmark, a headline-metric table across scorers, per-skill bar
    charts (GenAI-Bench), and every result's own tables."""
    css = ("body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:.5em 0}"
           "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}"
           "h2{border-bottom:1px solid #888}")
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>t2v bench report</title><style>{css}</style>"
           "</head><body><h1>t2v bench report</h1>"]
    for bench in dict.fromkeys(r["benchmark"] for r in records):
        recs = [r for r in records if r["benchmark"] == bench]
        out.append(f"<h2>{html.escape(bench)}</h2>")
        keys = list(dict.fromkeys(k for r in recs for k, v in r["metrics"].items() if isinstance(v, (int, float))
                                  or v is None))
        rows = [[r["model"], *[_num(r["metrics"].get(k)) for k in keys]] for r in recs]
        out.append(_html_table({"title": "headline metrics", "columns": ["model", *keys], "rows": rows}))
        skills, subjects = skill_matrix(records, bench)
        if subjects:
            out.append(bar_chart_svg(skills, subjects, f"{bench}: mean score per skill"))
        for title, (labels, chart_subjects) in chart_matrix(recs).items():
            out.append(bar_chart_svg(labels, chart_subjects, title, ylabel=""))
        for r in recs:
            out.append(f"<h3>{html.escape(r['model'])}</h3>")
            out += [_html_table(t) for t in r.get("tables", [])]
            prov = r.get("provenance") or {}
            out.append(f"<p style='font-size:11px;color:#666'>created {html.escape(str(r.get('created', '')))}; "
                       f"weights {html.escape(str(prov.get('weights_revision') or prov.get('weights') or ''))}; "
                       f"dtype {html.escape(str(prov.get('dtype', '')))}</p>")
    out.append("</body></html>")
    return "".join(out)


def _num(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def write_report(path: str | Path, out_dir: str | Path | None = None, html_file: bool = True) -> dict[str, Path]:
    """Read the results at ``path`` and write ``summary.csv``, ``summary.json`` and ``report.html`` into
    ``out_dir`` (default: the results folder). Returns the written paths."""
    records = load_results(path)
    p = Path(path)
    d = Path(out_dir) if out_dir is not None else (p if p.is_dir() else p.parent)
    d.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    rows = summary_rows(records)
    with open(d / "summary.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["benchmark", "model", "metric", "value"])
        w.writeheader()
        w.writerows(rows)
    written["csv"] = d / "summary.csv"
    (d / "summary.json").write_text(json.dumps(
        [{k: r.get(k) for k in ("benchmark", "model", "gen_models", "metrics", "skills", "created")} for r in records],
        indent=1), encoding="utf-8")
    written["json"] = d / "summary.json"
    if html_file:
        (d / "report.html").write_text(html_report(records), encoding="utf-8")
        written["html"] = d / "report.html"
    return written
