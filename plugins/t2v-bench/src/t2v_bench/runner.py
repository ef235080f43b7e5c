"""Run a benchmark: load its files, score every sample with a t2v model (resumable through a score store),
compute its metrics and write the results."""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from t2v_core.errors import T2VError

from .base import BenchResult, Sample

DEFAULT_RESULTS = "t2v-bench-results"
#: samples handed to one ``batch_forward`` call, and media items at most: bounds the memory held by
#: lazily built media (36 decoded frames per video, 3x3 grids of rendered views)
CHUNK = 32
CHUNK_MEDIA = 256
#: media of samples sharing their texts stacked into one scorer call
MERGE_MEDIA = 64


class BenchmarkRunError(T2VError, RuntimeError):
    """Scoring a benchmark did not complete (some pairs failed); rerunning with the same store resumes."""


def list_benchmarks() -> list[Any]:
    """The registered benchmark specs, sorted by name."""
    from t2v_core import registry

    return sorted(registry.benchmarks().specs.values(), key=lambda s: s.name)


def load_benchmark(name: str, root: str | Path | None = None, download: bool = False, **options: Any) -> Any:
    """Build a registered benchmark by name (its files are read now; missing files raise an error that says
    what to download)."""
    from t2v_core import registry

    spec = registry.get_benchmark(name)
    loader = spec.load()
    bench = loader(root=root, download=download, **options) if download else loader(root=root, **options)
    for attr in ("samples", "evaluate"):
        if not callable(getattr(bench, attr, None)):
            raise TypeError(f"benchmark {spec.name!r} (plugin {spec.plugin!r}): its loader {spec.loader!r} returned "
                            f"{type(bench).__name__}, which has no {attr}() method")
    if not getattr(bench, "name", None):
        bench.name = spec.name
    return bench


def _resolve(sample: Sample) -> list[Any]:
    media = sample.media() if callable(sample.media) else sample.media
    return [m() if callable(m) else m for m in media]


@dataclass
class _Job:
    """Samples asking about the same texts, scored as one ``batch_forward`` sample: their media stacked."""

    texts: tuple[str, ...]
    parts: list[tuple[int, int, int]] = field(default_factory=list)  # (sample index, first row, rows)
    n_media: int = 0


def _jobs(samples: Sequence[Sample], merge_media: int) -> list[_Job]:
    # The core's batch_forward hands the scorer one sample at a time; benchmarks of single (image, prompt)
    # pairs whose prompt recurs (one image per generator, nine per GenAI-Rank prompt) are merged so that the
    # scorer sees all those images against the prompt in one call. Scores and store keys are unchanged.
    open_jobs: dict[tuple[str, ...], _Job] = {}
    jobs: list[_Job] = []
    for k, s in enumerate(samples):
        m, key = s.shape[0], tuple(s.texts)
        job = open_jobs.get(key)
        if job is None or job.n_media + m > merge_media:
            job = open_jobs[key] = _Job(key)
            jobs.append(job)
        job.parts.append((k, job.n_media, m))
        job.n_media += m
    return jobs


def score_samples(scorer: Any, samples: Sequence[Sample], *, store: Any = None, batch_size: int | None = None,
                  question_template: str | None = None, answer_template: str | None = None,
                  progress: bool | None = None, chunk: int = CHUNK, merge_media: int = MERGE_MEDIA,
                  notes: list[dict[str, Any]] | None = None, **call_options: Any) -> list[np.ndarray]:
    """Score every sample with a ``t2v_core`` scorer; ``out[k]`` is the ``M x N`` array of sample ``k``.

    Samples with the same texts are stacked (up to ``merge_media`` media; 1 disables it), then scored in
    chunks of the same shape through ``scorer.batch_forward(..., store=store)``, so that an interrupted run
    resumes from the store. Failed pairs make a :class:`BenchmarkRunError` after every chunk is done.
    Scores that are reported but not exact (the scorer's notes, e.g. a hosted model's upper bounds) are
    appended to ``notes`` as ``{"sample", "media", "text", "kind", "message"}``, with one warning at the end.
    """
    import warnings

    from t2v_core.errors import ScoreNoteWarning
    from t2v_core.progress import progress_bar

    out: list[np.ndarray | None] = [None] * len(samples)
    by_shape: dict[tuple[int, int], list[_Job]] = {}
    for job in _jobs(samples, merge_media):
        by_shape.setdefault((job.n_media, len(job.texts)), []).append(job)
    chunks = []
    for (n_media, _), group in by_shape.items():
        size = max(1, min(chunk, CHUNK_MEDIA // max(n_media, 1)))
        chunks += [group[i:i + size] for i in range(0, len(group), size)]
    failures: list[Any] = []
    noted: list[dict[str, Any]] = []
    for jobs in progress_bar(chunks, enabled=progress, desc="benchmark", unit="chunk", total=len(chunks)):
        dataset = [{"images": [m for k, _, _ in job.parts for m in _resolve(samples[k])], "texts": list(job.texts)}
                   for job in jobs]
        with warnings.catch_warnings():  # one summary at the end instead of a warning per chunk
            warnings.simplefilter("ignore", ScoreNoteWarning)
            scores = scorer.batch_forward(dataset, batch_size, question_template=question_template,
                                          answer_template=answer_template, store=store, progress=False,
                                          on_error="nan", **call_options)
        failures += list(getattr(scorer, "failures", []) or [])
        for note in getattr(scorer, "notes", []) or []:
            job = jobs[note.detail.get("sample", 0)]
            # the stacked row back to its benchmark sample and that sample's own media row
            k, start = next((k, start) for k, start, rows in job.parts if start <= note.media_index < start + rows)
            noted.append({"sample": k, "media": note.media_index - start, "text": note.text_index,
                          "kind": note.kind, "message": note.message})
        arr = scores.detach().cpu().double().numpy()
        for r, job in enumerate(jobs):
            for k, start, rows in job.parts:
                out[k] = arr[r, start:start + rows]
    if noted:
        kinds = sorted({n["kind"] for n in noted})
        warnings.warn(f"{len(noted)} benchmark score(s) are not exact values ({', '.join(kinds)}); they are "
                      "listed under 'notes' in the result", stacklevel=2)
        if notes is not None:
            notes.extend(noted)
    if failures or any(np.isnan(a).any() for a in out if a is not None):
        n = sum(int(np.isnan(a).sum()) for a in out if a is not None)
        first = failures[0].error if failures else "NaN score"
        raise BenchmarkRunError(f"{n} pair(s) could not be scored (first: {first}). Scores computed so far are in "
                                "the store: rerun the same command to retry only the failed pairs.")
    return [a for a in out if a is not None]


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)


def slug(text: str) -> str:
    """A file-name-safe form of a model or generator name."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_") or "x"


def run_benchmark(name: str, model: str | Any, *, root: str | Path | None = None,
                  options: dict[str, Any] | None = None, results_dir: str | Path | None = DEFAULT_RESULTS,
                  store: str | Path | None = "auto", device: Any = None, dtype: Any = None,
                  batch_size: int | None = None, question_template: str | None = None,
                  answer_template: str | None = None, scorer_options: dict[str, Any] | None = None,
                  call_options: dict[str, Any] | None = None, download: bool = False,
                  progress: bool | None = None) -> dict[str, Any]:
    """Score benchmark ``name`` with ``model`` and return (and write) its result record.

    Args:
        name: a registered benchmark (``t2v bench list``).
        model: a model name (built with ``t2v_core.get_score_model``) or an already built ``t2v_core.Score``.
        root: the folder holding the benchmark's files (see the README for each benchmark's layout).
        options: benchmark options (``{"prompts": 527, "out": "outputs", "gen_models": ["sd15"]}``).
        results_dir: where ``<benchmark>__<model>.json`` / ``.csv`` are written (``None``: write nothing).
        store: a SQLite score store; ``"auto"`` is ``results_dir/scores.sqlite``; ``None`` disables resuming.
        scorer_options / call_options: keyword arguments for building the scorer / for each call.
    """
    from t2v_core import ScoreStore, get_score_model, registry

    if isinstance(model, str):  # a misspelt model name fails before any file is read
        registry.get_spec(model)
    bench = load_benchmark(name, root=root, download=download, **(options or {}))
    samples = bench.samples()
    if not samples:
        raise BenchmarkRunError(f"benchmark {name!r} produced no samples to score")
    scorer = get_score_model(model, device=device, dtype=dtype, **(scorer_options or {})) \
        if isinstance(model, str) else model
    if store == "auto":
        store = Path(results_dir) / "scores.sqlite" if results_dir is not None else None
    st = ScoreStore(store) if store is not None else None
    notes: list[dict[str, Any]] = []
    try:
        scores = score_samples(scorer, samples, store=st, batch_size=batch_size, question_template=question_template,
                               answer_template=answer_template, progress=progress, notes=notes,
                               **(call_options or {}))
    finally:
        if st is not None:
            st.close()
    result: BenchResult = bench.evaluate(scores)
    opts = dict(getattr(bench, "options", options or {}))
    gens = bench.gen_models() if callable(getattr(bench, "gen_models", None)) else None
    record = _json_safe({
        "benchmark": registry.get_benchmark(name).name,
        "model": scorer.spec.name if hasattr(scorer, "spec") else str(model),
        "gen_models": gens,
        "options": opts,
        "question_template": question_template,
        "answer_template": answer_template,
        "root": str(getattr(bench, "dir", root)),
        "num_samples": len(samples),
        "metrics": result.metrics,
        "tables": result.tables,
        "skills": result.skills,
        "provenance": getattr(scorer, "provenance", {}),
        # scores used by the metrics that are not exact values (e.g. upper bounds from a hosted model)
        "notes": notes,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    record["items"] = _json_safe(result.items)
    if results_dir is not None:
        write_result(record, results_dir, explicit_gens=bool((options or {}).get("gen_models")))
    return record


def result_stem(record: dict[str, Any], explicit_gens: bool = False) -> str:
    """``<benchmark>__<model>[__<generators>]``: one file per benchmark and scorer (and generator set when
    the generators were chosen explicitly, so that scoring them one at a time does not overwrite)."""
    stem = f"{slug(record['benchmark'])}__{slug(record['model'])}"
    if explicit_gens and record.get("gen_models"):
        stem += "__" + slug("+".join(record["gen_models"]))
    return stem


def write_result(record: dict[str, Any], results_dir: str | Path, explicit_gens: bool = False) -> Path:
    """Write ``<stem>.json`` (everything) and ``<stem>.csv`` (one row per scored item); returns the JSON path."""
    import csv

    d = Path(results_dir)
    d.mkdir(parents=True, exist_ok=True)
    stem = result_stem(record, explicit_gens)
    path = d / f"{stem}.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    items = record.get("items") or []
    if items:
        cols = list(dict.fromkeys(k for it in items for k in it))
        with open(d / f"{stem}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(items)
    return path
