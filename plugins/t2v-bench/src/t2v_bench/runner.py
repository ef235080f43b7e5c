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
#: media per chunk when their decoded frames are kept across several answer passes (bounds that memory)
CHUNK_MEDIA_KEPT = 16


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


class _DecodedOnce:
    """Keeps a loaded video's decoded frames, so that scoring it with several answer templates (two passes
    of the scorer over the same media) decodes each frame once; :func:`release` drops them."""

    @staticmethod
    def wrap(media: Any) -> Any:
        from t2v_core.media import Video

        if not isinstance(media, Video) or getattr(media, "_t2v_bench_cache", None) is not None:
            return media
        cache: dict[int, Any] = {}
        decode = media.frames  # the bound method of the Video class

        def frames(indices: Sequence[int]) -> list[Any]:
            todo = sorted({int(i) for i in indices} - set(cache))
            if todo:
                cache.update(zip(todo, decode(todo)))
            return [cache[int(i)] for i in indices]

        media.frames = frames  # type: ignore[method-assign]
        media._t2v_bench_cache = cache
        return media

    @staticmethod
    def release(media: Any) -> None:
        cache = getattr(media, "_t2v_bench_cache", None)
        if cache is not None:
            cache.clear()


def _media_loader(scorer: Any) -> Any:
    model = getattr(scorer, "model", scorer)
    load = getattr(model, "load_media", None)
    if load is None:
        from t2v_core.media import load_all

        return load_all
    return load


def score_samples(scorer: Any, samples: Sequence[Sample], *, store: Any = None, batch_size: int | None = None,
                  question_template: str | None = None, answer_template: str | None = None,
                  answers: Sequence[str | None] | None = None, allow_failures: bool = False,
                  failures: list[dict[str, Any]] | None = None, progress: bool | None = None, chunk: int = CHUNK,
                  merge_media: int = MERGE_MEDIA, notes: list[dict[str, Any]] | None = None,
                  **call_options: Any) -> list[np.ndarray]:
    """Score every sample with a ``t2v_core`` scorer; ``out[k]`` is the ``M x N`` array of sample ``k``.

    Samples with the same texts are stacked (up to ``merge_media`` media; 1 disables it), then scored in
    chunks of the same shape through ``scorer.batch_forward(..., store=store)``, so that an interrupted run
    resumes from the store. Scores that are reported but not exact (the scorer's notes, e.g. a hosted model's
    upper bounds) are appended to ``notes`` as ``{"sample", "media", "text", "kind", "message"}``, with one
    warning at the end.

    ``answers`` (several answer templates, e.g. ``("Yes", "No")``) scores every pair once per answer:
    ``out[k]`` is then ``A x M x N``; each chunk's media are loaded once for all answers and a video's frames
    are decoded once. Failed pairs make a :class:`BenchmarkRunError` after every chunk is done; with
    ``allow_failures`` they stay NaN and are appended to ``failures`` as ``{"sample", "media", "text",
    "answer", "kind", "error"}``: a sample whose media cannot be loaded fails whole; when a scorer call
    raises, its samples are rescored alone, then text by text, so that only the pairs that raise fail.
    """
    import warnings

    from t2v_core.errors import ScoreNoteWarning
    from t2v_core.progress import progress_bar

    answer_list: list[str | None] = list(answers) if answers else [answer_template]
    multi = answers is not None and len(answer_list) > 1
    out: list[np.ndarray | None] = [None] * len(samples)
    failed: list[dict[str, Any]] = []
    noted: list[dict[str, Any]] = []
    preload = multi or allow_failures
    loaded: dict[int, list[Any]] = {}
    todo: list[int] = []
    for k, sample in enumerate(samples):
        m, n = sample.shape
        out[k] = np.full((len(answer_list), m, n) if multi else (m, n), np.nan)
        if not preload:
            todo.append(k)
            continue
        try:  # load (and probe) now, so that one unreadable video fails its own rows only
            loaded[k] = [_DecodedOnce.wrap(x) for x in _media_loader(scorer)(_resolve(sample))]
            todo.append(k)
        except Exception as e:  # noqa: BLE001 - reported per pair below, never turned into a score
            if not allow_failures:
                raise
            failed += [{"sample": k, "media": i, "text": j, "answer": a, "kind": "media", "error": str(e)}
                       for a in answer_list for i in range(m) for j in range(n)]

    def media_of(k: int) -> list[Any]:
        return loaded[k] if k in loaded else _resolve(samples[k])

    def store_result(ai: int, k: int, values: np.ndarray, cols: list[int] | None) -> None:
        arr = out[k]
        assert arr is not None
        target = arr[ai] if multi else arr
        target[:, cols if cols is not None else slice(None)] = values

    def forward(jobs: list[_Job], ai: int, cols: list[int] | None = None) -> None:
        texts = [[job.texts[j] for j in cols] if cols is not None else list(job.texts) for job in jobs]
        dataset = [{"images": [x for k, _, _ in job.parts for x in media_of(k)], "texts": t}
                   for job, t in zip(jobs, texts)]
        try:
            with warnings.catch_warnings():  # one summary at the end instead of a warning per chunk
                warnings.simplefilter("ignore", ScoreNoteWarning)
                scores = scorer.batch_forward(dataset, batch_size, question_template=question_template,
                                              answer_template=answer_list[ai], store=store, progress=False,
                                              on_error="nan", **call_options)
        except Exception as e:
            if not allow_failures:
                raise
            # isolate what raised: each job alone, then each of its stacked samples, then each text
            if len(jobs) > 1:
                for job in jobs:
                    forward([job], ai, cols)
            elif len(jobs[0].parts) > 1:
                for k, _, rows in jobs[0].parts:
                    forward([_Job(jobs[0].texts, [(k, 0, rows)], rows)], ai, cols)
            elif len(texts[0]) > 1:
                for j in cols if cols is not None else range(len(jobs[0].texts)):
                    forward(jobs, ai, [j])
            else:
                k = jobs[0].parts[0][0]
                failed.extend({"sample": k, "media": i, "text": j, "answer": answer_list[ai], "kind": "error",
                               "error": f"{type(e).__name__}: {e}"}
                              for i in range(samples[k].shape[0]) for j in (cols or [0]))
            return
        col_of = (lambda j: cols[j]) if cols is not None else (lambda j: j)
        for rec in getattr(scorer, "failures", []) or []:
            job = jobs[rec.detail.get("sample", 0)]
            k, start = next((k, start) for k, start, rows in job.parts if start <= rec.media_index < start + rows)
            failed.append({"sample": k, "media": rec.media_index - start, "text": col_of(rec.text_index),
                           "answer": answer_list[ai], "kind": rec.kind, "error": rec.error})
        for note in getattr(scorer, "notes", []) or []:
            job = jobs[note.detail.get("sample", 0)]
            # the stacked row back to its benchmark sample and that sample's own media row
            k, start = next((k, start) for k, start, rows in job.parts if start <= note.media_index < start + rows)
            entry = {"sample": k, "media": note.media_index - start, "text": col_of(note.text_index),
                     "kind": note.kind, "message": note.message}
            if multi:
                entry["answer"] = answer_list[ai]
            noted.append(entry)
        arr = scores.detach().cpu().double().numpy()
        for r, job in enumerate(jobs):
            for k, start, rows in job.parts:
                store_result(ai, k, arr[r, start:start + rows], cols)

    by_shape: dict[tuple[int, int], list[_Job]] = {}
    cap = CHUNK_MEDIA_KEPT if multi else CHUNK_MEDIA
    for job in _jobs([samples[k] for k in todo], min(merge_media, cap)):
        job.parts = [(todo[k], start, rows) for k, start, rows in job.parts]
        by_shape.setdefault((job.n_media, len(job.texts)), []).append(job)
    chunks = []
    for (n_media, _), group in by_shape.items():
        size = max(1, min(chunk, cap // max(n_media, 1)))
        chunks += [group[i:i + size] for i in range(0, len(group), size)]
    for jobs in progress_bar(chunks, enabled=progress, desc="benchmark", unit="chunk", total=len(chunks)):
        for ai in range(len(answer_list)):
            forward(jobs, ai)
        for job in jobs:  # decoded frames are kept for one chunk only
            for k, _, _ in job.parts:
                for x in loaded.get(k, ()):
                    _DecodedOnce.release(x)
    if noted:
        kinds = sorted({n["kind"] for n in noted})
        warnings.warn(f"{len(noted)} benchmark score(s) are not exact values ({', '.join(kinds)}); they are "
                      "listed under 'notes' in the result", stacklevel=2)
        if notes is not None:
            notes.extend(noted)
    if allow_failures:
        if failures is not None:
            failures.extend(failed)
    elif failed or any(np.isnan(a).any() for a in out if a is not None):
        n = sum(int(np.isnan(a).sum()) for a in out if a is not None)
        first = failed[0]["error"] if failed else "NaN score"
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
    if getattr(bench, "task", "score") == "generate":
        return _run_generation(name, bench, samples, scorer, results_dir=results_dir, options=options,
                               question_template=question_template, answer_template=answer_template,
                               call_options=call_options or {}, progress=progress)
    question_template, answers = _templates(bench, scorer, question_template, answer_template)
    if store == "auto":
        store = Path(results_dir) / "scores.sqlite" if results_dir is not None else None
    st = ScoreStore(store) if store is not None else None
    notes: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    allow = bool(getattr(bench, "allow_failures", False))
    try:
        scores = score_samples(scorer, samples, store=st, batch_size=batch_size, question_template=question_template,
                               answer_template=answers[0] if len(answers) == 1 else None,
                               answers=answers if len(answers) > 1 else None, allow_failures=allow,
                               failures=failures, progress=progress, notes=notes, **(call_options or {}))
    finally:
        if st is not None:
            st.close()
    if allow:
        bench.pair_failures = failures
        if failures:
            import warnings

            rows = len({f["sample"] for f in failures})
            warnings.warn(f"{len(failures)} pair(s) of {rows} sample(s) could not be scored; they are left out of "
                          "the metrics and listed under 'failures' in the result (rerun to retry them)", stacklevel=2)
    result: BenchResult = bench.evaluate(scores)
    answer_template = answers[0] if len(answers) == 1 else None
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
        "charts": result.charts,
        "answer_templates": answers if len(answers) > 1 else None,
        # pairs that could not be scored (benchmarks that report failures per row instead of stopping)
        "failures": failures,
        "provenance": getattr(scorer, "provenance", {}),
        # scores used by the metrics that are not exact values (e.g. upper bounds from a hosted model)
        "notes": notes,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    record["items"] = _json_safe(result.items)
    if results_dir is not None:
        write_result(record, results_dir, explicit_gens=bool((options or {}).get("gen_models")))
    return record


def generate_samples(scorer: Any, samples: Sequence[Sample], *, cache: str | Path | None = None,
                     failures: list[dict[str, Any]] | None = None, progress: bool | None = None, chunk: int = 8,
                     **call_options: Any) -> list[str | None]:
    """Text generated by ``scorer`` for each sample (its one medium asked its one text), e.g. captions.

    ``cache`` (a JSON-lines file) keeps every generated text as soon as a chunk is done, keyed by the model,
    its identity, the options, the medium's content hash and the prompt, so that a rerun generates only what
    is missing. A sample whose medium cannot be loaded or whose generation raises gets ``None`` and an entry
    in ``failures``; a model that does not generate text stops the run.
    """
    from t2v_core.progress import progress_bar
    from t2v_core.store import score_key

    model = getattr(scorer, "model", scorer)
    name = getattr(getattr(scorer, "spec", None), "name", str(scorer))
    identity = getattr(model, "identity", {})
    done: dict[str, str] = {}
    cache_path = Path(cache) if cache is not None else None
    if cache_path is not None and cache_path.exists():
        for line in cache_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                done[entry["key"]] = entry["text"]
    out: list[str | None] = [None] * len(samples)
    failed: list[dict[str, Any]] = []

    def generate(pairs: list[tuple[int, Any, str, str]]) -> None:
        try:
            texts = model.generate_media([m for _, m, _, _ in pairs], [p for _, _, p, _ in pairs], **call_options)
        except NotImplementedError as e:
            raise BenchmarkRunError(f"model {name!r} does not generate text ({e}): pick a model that does "
                                    "(a chat VLM)") from e
        except Exception as e:
            if len(pairs) > 1:
                for pair in pairs:
                    generate([pair])
                return
            failed.append({"sample": pairs[0][0], "media": 0, "text": 0, "kind": "error",
                           "error": f"{type(e).__name__}: {e}"})
            return
        new = []
        for (k, _, _, key), text in zip(pairs, texts):
            out[k] = str(text)
            new.append(json.dumps({"key": key, "text": str(text)}, ensure_ascii=False))
        if cache_path is not None and new:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            with open(cache_path, "a", encoding="utf-8") as f:
                f.write("\n".join(new) + "\n")

    starts = range(0, len(samples), chunk)
    for s in progress_bar(starts, enabled=progress, desc="generate", unit="chunk", total=len(starts)):
        pairs = []
        for k in range(s, min(s + chunk, len(samples))):
            sample = samples[k]
            try:
                medium = _media_loader(scorer)(_resolve(sample))[0]
            except Exception as e:  # noqa: BLE001 - reported with its row
                failed.append({"sample": k, "media": 0, "text": 0, "kind": "media", "error": str(e)})
                continue
            key = score_key(name, "generate", None, call_options, medium.hash, sample.texts[0], identity)
            if key in done:
                out[k] = done[key]
            else:
                pairs.append((k, medium, sample.texts[0], key))
        if pairs:
            generate(pairs)
    if failures is not None:
        failures.extend(failed)
    return out


def _run_generation(name: str, bench: Any, samples: list[Sample], scorer: Any, *, results_dir: Any,
                    options: dict[str, Any] | None, question_template: str | None, answer_template: str | None,
                    call_options: dict[str, Any], progress: bool | None) -> dict[str, Any]:
    from t2v_core import registry

    if question_template is not None or answer_template is not None:
        raise BenchmarkRunError(f"benchmark {bench.name!r} asks the model its own prompts and compares the text it "
                                "generates; it takes no --question / --answer")
    _templates(bench, scorer, None, None)  # media check
    model_name = scorer.spec.name if hasattr(scorer, "spec") else str(scorer)
    cache = (Path(results_dir) / f"{slug(registry.get_benchmark(name).name)}__{slug(model_name)}.generated.jsonl"
             if results_dir is not None else None)
    failures: list[dict[str, Any]] = []
    texts = generate_samples(scorer, samples, cache=cache, failures=failures, progress=progress, **call_options)
    bench.pair_failures = failures
    if failures:
        import warnings

        warnings.warn(f"{len(failures)} sample(s) could not be generated; they are left out of the metrics and "
                      "listed under 'failures' in the result (rerun to retry them)", stacklevel=3)
    result: BenchResult = bench.evaluate(texts)
    record = _json_safe({
        "benchmark": registry.get_benchmark(name).name, "model": model_name, "gen_models": None,
        "options": dict(getattr(bench, "options", options or {})), "question_template": None,
        "answer_template": None, "root": str(getattr(bench, "dir", "")), "num_samples": len(samples),
        "metrics": result.metrics, "tables": result.tables, "skills": result.skills, "charts": result.charts,
        "answer_templates": None, "failures": failures, "provenance": getattr(scorer, "provenance", {}),
        "notes": [], "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    record["items"] = _json_safe(result.items)
    if results_dir is not None:
        write_result(record, results_dir)
    return record


def _templates(bench: Any, scorer: Any, question: str | None, answer: str | None) -> tuple[str | None, list[str | None]]:
    """The question template and answer template(s) of a run: the user's, else the benchmark's own, else the
    model's; refuses a scorer of a kind the benchmark does not support."""
    kinds = getattr(bench, "scorer_kinds", None)
    spec = getattr(scorer, "spec", None)
    if kinds and spec is not None and spec.kind not in kinds:
        raise BenchmarkRunError(f"benchmark {bench.name!r} needs a {'/'.join(kinds)} scorer, but {spec.name!r} is a "
                                f"{spec.kind!r} scorer: pick a model of that kind (`t2v models`)")
    media = getattr(bench, "media", None)
    if spec is not None and media and not set(media) & set(spec.media):
        raise BenchmarkRunError(f"benchmark {bench.name!r} scores {'/'.join(media)} media, which model {spec.name!r} "
                                f"does not accept (it accepts {'/'.join(spec.media)})")
    q = question if question is not None else getattr(bench, "question_template", None)
    own = getattr(bench, "answer_templates", None)
    if own and len(own) > 1:
        if answer is not None:
            raise BenchmarkRunError(f"benchmark {bench.name!r} scores every pair with the answers {list(own)} and "
                                    "compares them; it takes no --answer")
        return q, list(own)
    return q, [answer if answer is not None else (own[0] if own else None)]


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
