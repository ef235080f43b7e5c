"""What a benchmark is: a list of samples to score and a function from their scores to metrics.

A benchmark plugin registers ``BenchmarkSpec(name, loader="module:callable")``; the loader is called as
``loader(root=<folder or None>, **options)`` and returns an object with

- ``samples() -> list[Sample]``: what to score; every sample is ``M`` media items against ``N`` texts;
- ``evaluate(scores) -> BenchResult``: ``scores[k]`` is the ``M x N`` numpy array of sample ``k``.

:class:`Benchmark` is a convenient base class for that protocol; nothing requires subclassing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from t2v_core.errors import T2VError


class BenchmarkDataError(T2VError, FileNotFoundError):
    """A benchmark's files are missing or malformed; the message says what to download and where."""


@dataclass
class Sample:
    """One unit of scoring: every item of ``media`` against every text of ``texts``.

    ``media`` items are anything ``t2v_core`` loads (paths, PIL images, ...) or zero-argument callables that
    return one (built only when the sample is scored, e.g. a grid of rendered views), so that a benchmark of
    thousands of composite images never holds them all in memory.
    """

    media: Any  # a list of media items, or a callable returning one (with __len__)
    texts: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """(number of media, number of texts)."""
        return len(self.media), len(self.texts)


@dataclass
class BenchResult:
    """What a benchmark reports.

    Attributes:
        metrics: flat ``name -> number`` (the headline numbers, e.g. ``{"group": 0.25}``).
        tables: named tables for the terminal and the report: ``{"title", "columns", "rows"}``.
        skills: ``subject -> skill -> {"mean", "std", "n"}`` (GenAI-Bench per-skill scores; a subject is a
            generator such as ``"DALLE_3"``); drawn as bar charts in the HTML report.
        items: one dict per scored item (ids, texts, scores, human ratings) for the CSV file.
        charts: bar charts for the HTML report: ``{"title", "labels": [...], "values": {series: [...]}}``
            (one bar per series and label; the report puts every scorer of the benchmark side by side).
    """

    metrics: dict[str, Any] = field(default_factory=dict)
    tables: list[dict[str, Any]] = field(default_factory=list)
    skills: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)


class Benchmark:
    """Base class: subclasses set ``name``/``media`` and implement :meth:`samples` and :meth:`evaluate`."""

    name: str = ""
    media: tuple[str, ...] = ("image",)
    #: the folder under ``--root`` this benchmark's files live in (documentation and error messages)
    folder: str = ""
    #: what to download, shown when files are missing
    download_hint: str = ""
    #: Hugging Face dataset repo and file patterns for ``download=True`` (optional)
    hf_repo: str | None = None
    hf_patterns: tuple[str, ...] = ()
    #: the benchmark's own VQAScore question template (``None``: the model's default); ``--question`` wins
    question_template: str | None = None
    #: answer templates every pair is scored with (``None``: the model's default); with several, ``scores[k]``
    #: given to :meth:`evaluate` is ``A x M x N`` (one ``M x N`` slice per answer, in this order)
    answer_templates: tuple[str, ...] | None = None
    #: scorer kinds the benchmark makes sense for (``None``: any)
    scorer_kinds: tuple[str, ...] | None = None
    #: ``True``: failed pairs do not stop the run; they reach :meth:`evaluate` as NaN, and
    #: :attr:`pair_failures` (set by the runner before ``evaluate``) says why, per pair
    allow_failures: bool = False
    pair_failures: list[dict[str, Any]]

    def __init__(self, root: str | os.PathLike[str] | None = None, download: bool = False, **options: Any) -> None:
        self.root = Path(root).expanduser() if root is not None else Path(".")
        self.download = download
        self.pair_failures = []
        unknown = sorted(set(options) - set(self.option_defaults()))
        if unknown:
            allowed = ", ".join(sorted(self.option_defaults())) or "none"
            raise ValueError(f"benchmark {self.name!r} got unknown option(s) {unknown}; it accepts: {allowed}")
        self.options = {**self.option_defaults(), **options}
        self.dir = self._locate()

    # --------------------------------------------------------------------------------- to implement
    def option_defaults(self) -> dict[str, Any]:
        """Options this benchmark accepts (``--option key=value``), with their defaults."""
        return {}

    def samples(self) -> list[Sample]:
        """What to score."""
        raise NotImplementedError

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        """Metrics from the scores of :meth:`samples`, in the same order."""
        raise NotImplementedError

    # --------------------------------------------------------------------------------- helpers
    def _locate(self) -> Path:
        """The benchmark folder: ``root/folder`` when it exists, else ``root`` itself (the user may point
        ``--root`` straight at the benchmark's folder); with ``download=True`` a missing folder is fetched."""
        if self.folder and (self.root / self.folder).is_dir():
            return self.root / self.folder
        if self.download and self.hf_repo:
            return self._download()
        return self.root

    #: download into ``root`` itself (the hub's zip already holds the benchmark folder) instead of root/folder
    hf_into_root: bool = False

    def _download(self) -> Path:
        """Fetch the benchmark's files from the Hugging Face hub and unzip the archives among them."""
        import zipfile

        try:
            from huggingface_hub import snapshot_download
        except ImportError as e:
            raise ModuleNotFoundError("downloading benchmark files needs huggingface_hub: "
                                      "pip install 't2v-bench[hub]'") from e
        target = self.root if self.hf_into_root else self.root / self.folder
        snapshot_download(repo_id=str(self.hf_repo), repo_type="dataset", local_dir=str(target),
                          allow_patterns=list(self.hf_patterns) or None)
        for archive in sorted(target.rglob("*.zip")):
            marker = archive.with_suffix(".unzipped")
            if not marker.exists():
                with zipfile.ZipFile(archive) as z:
                    z.extractall(archive.parent)
                marker.touch()
        return self.root / self.folder

    def missing(self, what: str, hint: str | None = None) -> BenchmarkDataError:
        """An error for a missing file, with the download instructions (or ``hint``)."""
        if hint is None:
            hint = (f"{self.download_hint}\n" if self.download_hint else "") + \
                "Pass the folder that holds it with --root DIR (see the t2v-bench README)."
        return BenchmarkDataError(f"benchmark {self.name!r}: {what} not found (looked in {self.dir}).\n{hint}")

    def file(self, *parts: str) -> Path:
        """A file of the benchmark that must exist."""
        path = self.dir.joinpath(*parts)
        if not path.exists():
            raise self.missing(str(Path(*parts)))
        return path

    def read_json(self, *parts: str) -> Any:
        """Load a JSON file of the benchmark, with an error naming it if it is malformed."""
        path = self.file(*parts)
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except json.JSONDecodeError as e:
            raise BenchmarkDataError(f"benchmark {self.name!r}: {path} is not valid JSON ({e})") from e

    def read_jsonl(self, *parts: str) -> list[Any]:
        """Load a JSON-lines file of the benchmark."""
        path = self.file(*parts)
        out = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise BenchmarkDataError(f"benchmark {self.name!r}: {path} line {n} is not JSON ({e})") from e
        return out

    def read_csv(self, *parts: str) -> list[dict[str, str]]:
        """Load a CSV file of the benchmark as a list of row dicts."""
        import csv

        path = self.file(*parts)
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def require(self, paths: Sequence[Path], what: str = "media file", hint: str | None = None) -> None:
        """Fail early, naming the first missing file and how many are missing, before any scoring."""
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            raise self.missing(f"{len(missing)} of {len(paths)} {what}(s), e.g. {missing[0]},", hint)


def check_record(record: Any, keys: Sequence[str], where: str) -> None:
    """Raise a :class:`BenchmarkDataError` when a record lacks one of ``keys``."""
    if not isinstance(record, dict):
        raise BenchmarkDataError(f"{where}: expected an object, got {type(record).__name__}")
    lacking = [k for k in keys if k not in record]
    if lacking:
        raise BenchmarkDataError(f"{where}: missing field(s) {lacking} (has {sorted(record)})")


Loader = Callable[..., Any]
