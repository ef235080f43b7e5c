"""CameraBench (camera-motion understanding): binary classification, yes/no VQA and video-text retrieval.

Reads the reference's published files unchanged (``camerabench/data/`` of ``linzhiqiu/t2v_metrics``) and
the videos its download script puts under ``data/videos``; the metric definitions follow its evaluation
scripts (``binary_classification_evaluation.py``, ``vqa_and_retrieval_evaluation.py``); the code is ours.

Every pair of a video is scored in one call (one sample per video holding every question asked about it),
so a scorer decodes each video once; the VQA run scores each pair with the answers "Yes" and "No", and the
runner keeps the decoded frames between the two passes. A pair that cannot be scored leaves its row out
of the metrics and is reported with that row (the reference scores such a row 0.0 and drops it later).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .base import Benchmark, BenchmarkDataError, BenchResult, Sample, check_record
from .datasets import fmt

#: the reference's templates (``binary_classification_vlm_scores.py``, ``vqa_and_retrieval_vlm_scores.py``)
QUESTION = "{} Please only answer Yes or No."
VIDEOS_REPO = "syCen/Videos4CameraBench"
DATA_HINT = ("CameraBench's annotation files are in the t2v_metrics repository (github.com/linzhiqiu/t2v_metrics, "
             "folder camerabench/data/: binary_classification/, vqa_and_retrieval/, caption_data.json); pass "
             "that data folder (or the camerabench folder above it) as --root.")
VIDEOS_HINT = (f"Download the videos of the Hugging Face dataset {VIDEOS_REPO} into ROOT/videos/ (the reference's "
               "`python data_download.py` in camerabench/ does this; or `hf download "
               f"{VIDEOS_REPO} --repo-type dataset --local-dir ROOT/videos`), or name their folder with "
               "--option video_dir=DIR. --option allow_missing=true scores the rows whose videos are there and "
               "reports the others as failed rows.")


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ValueError(f"option {name} must be true or false, got {value!r}")


class _CameraBench(Benchmark):
    """Shared by the CameraBench runs: where the data and videos are, and per-row failure bookkeeping."""

    media: tuple[str, ...] = ("video",)
    question_template = QUESTION
    scorer_kinds = ("vqa",)
    allow_failures = True
    #: the entry of the data folder this run reads (used to find the data folder under --root)
    marker = ""

    def option_defaults(self) -> dict[str, Any]:
        return {"video_dir": None, "allow_missing": False}

    def _locate(self) -> Path:
        # --root may be the data folder itself, the camerabench folder, or the t2v_metrics checkout
        for d in (self.root, self.root / "data", self.root / "camerabench" / "data"):
            if (d / self.marker).exists():
                return d
        return self.root

    def missing(self, what: str, hint: str | None = None) -> BenchmarkDataError:
        return super().missing(what, DATA_HINT if hint is None else hint)

    def video_dirs(self) -> list[Path]:
        """Where videos are looked for: ``video_dir``, else ``ROOT/videos`` (and ``ROOT/videos/videos``, where a
        snapshot that keeps the dataset's own ``videos/`` folder puts them)."""
        given = self.options.get("video_dir")
        if given:
            return [Path(given).expanduser()]
        return [self.dir / "videos", self.dir / "videos" / "videos"]

    def video_path(self, name: str) -> Path:
        """The file of a video named in the annotations (the first folder holding it)."""
        dirs = self.video_dirs()
        for d in dirs:
            if (d / name).is_file():
                return d / name
        return dirs[0] / name

    def check_videos(self, names: Sequence[str]) -> set[str]:
        """The videos among ``names`` that are missing: an error naming what to download, unless
        ``allow_missing`` (then those rows are reported as failed)."""
        missing = sorted({n for n in names if not self.video_path(n).is_file()})
        if missing and not _flag(self.options["allow_missing"], "allow_missing"):
            raise BenchmarkDataError(
                f"benchmark {self.name!r}: {len(missing)} of {len(set(names))} video(s) not found, e.g. "
                f"{self.video_path(missing[0])}.\n{VIDEOS_HINT}")
        return set(missing)

    def video_samples(self, questions: dict[str, list[str]], missing: set[str]) -> list[Sample]:
        """One sample per video present: the video against every question asked about it (first-seen order)."""
        self.sample_of: dict[tuple[str, str], tuple[int, int]] = {}
        out: list[Sample] = []
        for video, qs in questions.items():
            if video in missing:
                continue
            texts = list(dict.fromkeys(qs))
            k = len(out)
            out.append(Sample([str(self.video_path(video))], texts, {"video": video}))
            for j, q in enumerate(texts):
                self.sample_of[(video, q)] = (k, j)
        return out

    def cell(self, scores: Sequence[np.ndarray], video: str, question: str, answer: int | None = None) -> float:
        """The score of one (video, question) pair (NaN when the pair failed or its video is missing)."""
        where = self.sample_of.get((video, question))
        if where is None:
            return float("nan")
        k, j = where
        arr = np.asarray(scores[k])
        return float(arr[answer, 0, j] if answer is not None else arr[0, j])

    def errors(self, video: str, questions: Sequence[str]) -> str | None:
        """Why the pairs of ``video`` with ``questions`` have no score (``None`` when they all have one)."""
        if video in getattr(self, "missing_videos", ()):
            return f"video file not found: {self.video_path(video)}"
        where = [self.sample_of.get((video, q)) for q in questions]
        why = [f"{f['error']} (answer {f['answer']!r})" if f.get("answer") else str(f["error"])
               for f in self.pair_failures
               if any(w is not None and f["sample"] == w[0] and f["text"] == w[1] for w in where)]
        return "; ".join(dict.fromkeys(why)) or None


# ============================================================================================ binary


class CameraBenchBinary(_CameraBench):
    """CameraBench binary classification: 15 camera-motion splits of yes/no questions about a video.

    Metric per split: average precision (reported by the reference as "mAP") and ROC-AUC of the score against
    the yes/no label, over the rows that were scored; overall: mean and population std over the splits.
    """

    name = "camerabench-binary"
    marker = "binary_classification"

    def option_defaults(self) -> dict[str, Any]:
        return {**super().option_defaults(), "splits": None, "one_class": "zero"}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        super().__init__(root, download, **options)
        if self.options["one_class"] not in ("zero", "skip"):
            raise ValueError(f"option one_class must be 'zero' (the reference: AP = ROC-AUC = 0.0, counted in the "
                             f"mean) or 'skip' (n/a, left out of the mean), got {self.options['one_class']!r}")
        folder = self.file("binary_classification")
        found = sorted(p.stem for p in folder.glob("*.jsonl"))
        wanted = _names(self.options["splits"]) or found
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise BenchmarkDataError(f"camerabench-binary: split(s) {unknown} not in {folder} (it has {found})")
        if not wanted:
            raise self.missing("binary_classification/*.jsonl")
        self.rows: list[dict[str, Any]] = []
        for split in wanted:
            for n, row in enumerate(self.read_jsonl("binary_classification", f"{split}.jsonl"), 1):
                where = f"binary_classification/{split}.jsonl line {n}"
                check_record(row, ["image", "question", "label"], where)
                label = str(row["label"]).strip().lower()
                if label not in ("yes", "no"):
                    raise BenchmarkDataError(f"{where}: label must be 'Yes' or 'No', got {row['label']!r}")
                self.rows.append({"split": split, "video": str(row["image"]), "question": str(row["question"]),
                                  "label": int(label == "yes"), "task": row.get("task")})
        self.splits = wanted

    def samples(self) -> list[Sample]:
        missing = self.check_videos([r["video"] for r in self.rows])
        self.missing_videos = missing
        questions: dict[str, list[str]] = {}
        for r in self.rows:
            questions.setdefault(r["video"], []).append(r["question"])
        return self.video_samples(questions, missing)

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        result = BenchResult()
        per_split: dict[str, dict[str, Any]] = {}
        for r in self.rows:
            r["score"] = self.cell(scores, r["video"], r["question"])
            r["error"] = None if np.isfinite(r["score"]) else (self.errors(r["video"], [r["question"]])
                                                               or "not scored")
            result.items.append({**r, "score": r["score"] if np.isfinite(r["score"]) else None})
        for split in self.splits:
            rows = [r for r in self.rows if r["split"] == split]
            ok = [r for r in rows if r["error"] is None]
            y = np.array([r["label"] for r in ok], dtype=np.float64)
            s = np.array([r["score"] for r in ok], dtype=np.float64)
            entry: dict[str, Any] = {"n": len(ok), "positives": int(y.sum()), "negatives": int(len(ok) - y.sum()),
                                     "failed": len(rows) - len(ok), "note": ""}
            if not ok:
                entry.update(ap=None, roc_auc=None, note="no row scored: left out of the mean")
            elif entry["positives"] == 0 or entry["negatives"] == 0:
                if self.options["one_class"] == "zero":
                    entry.update(ap=0.0, roc_auc=0.0, note="one class: 0.0 (the reference's rule)")
                else:
                    entry.update(ap=None, roc_auc=None, note="one class: undefined, left out of the mean")
            else:
                entry.update(ap=M.average_precision(y, s), roc_auc=M.auroc(y, s))
            per_split[split] = entry
        counted = {k: v for k, v in per_split.items() if v["ap"] is not None}
        for key, name in (("ap", "ap"), ("roc_auc", "roc_auc")):
            if counted:
                ms = M.mean_std_population([v[key] for v in counted.values()])
                result.metrics[f"mean_{name}"], result.metrics[f"std_{name}"] = ms["mean"], ms["std"]
            else:
                result.metrics[f"mean_{name}"] = result.metrics[f"std_{name}"] = None
        result.metrics["splits_evaluated"] = len(counted)
        result.metrics["failed_rows"] = sum(v["failed"] for v in per_split.values())
        for split, v in per_split.items():
            result.metrics[f"{split}/ap"] = v["ap"]
            result.metrics[f"{split}/roc_auc"] = v["roc_auc"]
        rows = [[split, fmt(v["ap"]), fmt(v["roc_auc"]), v["n"], v["positives"], v["negatives"], v["failed"], v["note"]]
                for split, v in per_split.items()]
        rows.append([f"mean ± std ({len(counted)} splits)",
                     fmt(result.metrics["mean_ap"], result.metrics["std_ap"]),
                     fmt(result.metrics["mean_roc_auc"], result.metrics["std_roc_auc"]),
                     sum(v["n"] for v in per_split.values()), "", "", result.metrics["failed_rows"], ""])
        result.tables.append({"title": f"{self.name}: average precision and ROC-AUC per split",
                              "columns": ["split", "AP", "ROC-AUC", "n", "yes", "no", "failed", "note"],
                              "rows": rows})
        result.charts.append({"title": f"{self.name}: AP per split", "labels": list(per_split),
                              "values": {"AP": [v["ap"] for v in per_split.values()]}})
        result.charts.append({"title": f"{self.name}: ROC-AUC per split", "labels": list(per_split),
                              "values": {"ROC-AUC": [v["roc_auc"] for v in per_split.values()]}})
        return result


# ============================================================================================ VQA / retrieval


class CameraBenchPairs(_CameraBench):
    """CameraBench VQA and retrieval: 2 videos x 2 questions per row, 81 tasks in 9 skills.

    ``camerabench-vqa`` scores every pair with the answers "Yes" and "No" (binary and question accuracy);
    ``camerabench-retrieval`` uses the "Yes" scores only (Winoground-style text / image / group).
    """

    name = "camerabench-vqa"
    marker = "vqa_and_retrieval"
    answer_templates: tuple[str, ...] | None = ("Yes", "No")
    mode = "vqa"

    def option_defaults(self) -> dict[str, Any]:
        return {**super().option_defaults(), "skills": None, "group_by": "skill"}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        super().__init__(root, download, **options)
        if self.options["group_by"] not in ("skill", "task"):
            raise ValueError(f"option group_by must be 'skill' (one unit per skill, as the reference's "
                             f"--combine_tasks) or 'task' (one per task file), got {self.options['group_by']!r}")
        folder = self.file("vqa_and_retrieval")
        found = sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.jsonl")))
        wanted = _names(self.options["skills"]) or found
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise BenchmarkDataError(f"{self.name}: skill(s) {unknown} not in {folder} (it has {found})")
        if not wanted:
            raise self.missing("vqa_and_retrieval/<skill>/<task>.jsonl")
        self.rows: list[dict[str, Any]] = []
        for skill in wanted:
            for task_file in sorted((folder / skill).glob("*.jsonl")):
                for n, row in enumerate(self.read_jsonl("vqa_and_retrieval", skill, task_file.name), 1):
                    where = f"vqa_and_retrieval/{skill}/{task_file.name} line {n}"
                    # the reference asks pos/neg_question when present, else pos/neg_text
                    qk = ("pos_question", "neg_question") if "pos_question" in row else ("pos_text", "neg_text")
                    check_record(row, ["pos_video", "neg_video", *qk], where)
                    self.rows.append({"skill": skill, "task": task_file.stem, "pos_video": str(row["pos_video"]),
                                      "neg_video": str(row["neg_video"]), "pos_question": str(row[qk[0]]),
                                      "neg_question": str(row[qk[1]])})
        self.skills = wanted

    def samples(self) -> list[Sample]:
        missing = self.check_videos([r[k] for r in self.rows for k in ("pos_video", "neg_video")])
        self.missing_videos = missing
        questions: dict[str, list[str]] = {}
        for r in self.rows:
            for v in ("pos_video", "neg_video"):
                questions.setdefault(r[v], []).extend([r["pos_question"], r["neg_question"]])
        return self.video_samples(questions, missing)

    def _cells(self, scores: Sequence[np.ndarray], r: dict[str, Any], answer: int | None) -> np.ndarray:
        """``[video i][question j]`` (0 = positive, 1 = negative) of one row, for one answer."""
        return np.array([[self.cell(scores, r[v], r[q], answer) for q in ("pos_question", "neg_question")]
                         for v in ("pos_video", "neg_video")])

    def _unit_metrics(self, yes: np.ndarray, no: np.ndarray | None) -> dict[str, Any]:
        if self.mode == "vqa":
            assert no is not None
            return M.vqa_accuracy(yes, no)
        return M.winoground_accuracy(yes)

    @property
    def keys(self) -> tuple[str, ...]:
        return ("binary_acc", "question_acc") if self.mode == "vqa" else ("text", "image", "group")

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        result = BenchResult()
        yes_i = 0 if self.mode == "vqa" else None
        ok_rows: list[tuple[dict[str, Any], np.ndarray, np.ndarray | None]] = []
        for r in self.rows:
            yes = self._cells(scores, r, yes_i)
            no = self._cells(scores, r, 1) if self.mode == "vqa" else None
            good = np.isfinite(yes).all() and (no is None or np.isfinite(no).all())
            error = None
            if not good:
                error = "; ".join(e for e in (self.errors(r["pos_video"], [r["pos_question"], r["neg_question"]]),
                                              self.errors(r["neg_video"], [r["pos_question"], r["neg_question"]]))
                                  if e) or "not scored"
            item = {**r, "error": error}
            for a_name, arr in (("yes", yes), ("no", no)):
                if arr is None:
                    continue
                for i, v in enumerate(("pos_video", "neg_video")):
                    for j, q in enumerate(("pos_text", "neg_text")):
                        val = arr[i, j]
                        item[f"{a_name}_{q}_{v.replace('_video', '_image')}"] = float(val) if np.isfinite(val) else None
            result.items.append(item)
            if good:
                ok_rows.append((r, yes, no))
        by_task: dict[tuple[str, str], dict[str, Any]] = {}
        by_skill: dict[str, dict[str, Any]] = {}
        for unit_of, table in ((lambda r: (r["skill"], r["task"]), by_task), (lambda r: r["skill"], by_skill)):
            for key in dict.fromkeys(unit_of(r) for r in self.rows):
                rows = [x for x in ok_rows if unit_of(x[0]) == key]
                total = sum(1 for r in self.rows if unit_of(r) == key)
                if rows:
                    yes = np.stack([x[1] for x in rows])
                    no = np.stack([x[2] for x in rows]) if self.mode == "vqa" else None  # type: ignore[misc]
                    m = self._unit_metrics(yes, no)
                else:
                    m = {k: None for k in self.keys} | {"n": 0}
                m["failed"] = total - len(rows)
                table[key] = m
        units = by_skill if self.options["group_by"] == "skill" else by_task
        counted = [u for u in units.values() if u["n"]]
        for k in self.keys:
            if counted:
                ms = M.mean_std_population([u[k] for u in counted])
                result.metrics[f"mean_{k}"], result.metrics[f"std_{k}"] = ms["mean"], ms["std"]
            else:
                result.metrics[f"mean_{k}"] = result.metrics[f"std_{k}"] = None
        result.metrics["units_evaluated"] = len(counted)
        result.metrics["failed_rows"] = len(self.rows) - len(ok_rows)
        for skill, m in by_skill.items():
            for k in self.keys:
                result.metrics[f"{skill}/{k}"] = m[k]
        cols = [*self.keys, "n", "failed"]
        mean_row = [f"mean ± std over {len(counted)} {self.options['group_by']}s",
                    *[fmt(result.metrics[f"mean_{k}"], result.metrics[f"std_{k}"]) for k in self.keys],
                    sum(u["n"] for u in units.values()), result.metrics["failed_rows"]]
        result.tables.append({"title": f"{self.name}: per skill (the skill's rows pooled)",
                              "columns": ["skill", *cols],
                              "rows": [[s, *[fmt(m[k]) for k in self.keys], m["n"], m["failed"]]
                                       for s, m in by_skill.items()]
                              + ([mean_row] if self.options["group_by"] == "skill" else [])})
        result.tables.append({"title": f"{self.name}: per task",
                              "columns": ["skill", "task", *cols],
                              "rows": [[s, t, *[fmt(m[k]) for k in self.keys], m["n"], m["failed"]]
                                       for (s, t), m in by_task.items()]
                              + ([[mean_row[0], "", *mean_row[1:]]] if self.options["group_by"] == "task" else [])})
        result.charts.append({"title": f"{self.name}: per skill", "labels": list(by_skill),
                              "values": {k: [m[k] for m in by_skill.values()] for k in self.keys}})
        return result


class CameraBenchRetrieval(CameraBenchPairs):
    """CameraBench video-text retrieval (Winoground-style text / image / group on the "Yes" scores)."""

    name = "camerabench-retrieval"
    answer_templates = ("Yes",)
    mode = "retrieval"


# ============================================================================================ captions


class CameraBenchCaption(_CameraBench):
    """CameraBench captioning: the model describes each video's camera motion; its caption is compared with
    the reference caption. Needs a model that generates text (``generate``), not a score."""

    name = "camerabench-caption"
    marker = "caption_data.json"
    task = "generate"
    scorer_kinds = None
    question_template = None

    def option_defaults(self) -> dict[str, Any]:
        return {**super().option_defaults(), "limit": None}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        super().__init__(root, download, **options)
        data = self.read_json("caption_data.json")
        if not isinstance(data, list):
            raise BenchmarkDataError(f"{self.dir / 'caption_data.json'}: expected a list of "
                                     "{video, question, answer} objects")
        for n, row in enumerate(data):
            check_record(row, ["video", "question", "answer"], f"caption_data.json item {n}")
        limit = self.options["limit"]
        self.rows = [{"video": str(r["video"]), "question": str(r["question"]), "reference": str(r["answer"])}
                     for r in (data[:int(limit)] if limit is not None else data)]

    def samples(self) -> list[Sample]:
        self.missing_videos = self.check_videos([r["video"] for r in self.rows])
        self.sample_of = {}
        out = []
        for n, r in enumerate(self.rows):
            if r["video"] in self.missing_videos:
                continue
            self.sample_of[(r["video"], str(n))] = (len(out), 0)
            out.append(Sample([str(self.video_path(r["video"]))], [r["question"]], {"row": n}))
        return out

    def evaluate(self, captions: Sequence[str | None]) -> BenchResult:  # type: ignore[override]
        from . import caption_metrics as C

        result = BenchResult()
        per_metric: dict[str, list[float]] = {k: [] for k in C.SIMPLIFIED}
        refs, cands = [], []
        for n, r in enumerate(self.rows):
            where = self.sample_of.get((r["video"], str(n)))
            caption = captions[where[0]] if where is not None else None
            item: dict[str, Any] = {**r, "caption": caption, "error": None}
            if where is None:
                item["error"] = f"video file not found: {self.video_path(r['video'])}"
            elif caption is None:
                item["error"] = "; ".join(str(f["error"]) for f in self.pair_failures
                                          if f["sample"] == where[0]) or "not generated"
            elif not caption.strip() or not r["reference"].strip():
                item["error"] = "empty caption: left out, as the reference does"
            if item["error"] is None:
                for k, fn in C.SIMPLIFIED.items():
                    v = fn(r["reference"], caption)
                    item[k] = v
                    if v is not None:
                        per_metric[k].append(v)
                refs.append(r["reference"])
                cands.append(caption)
            result.items.append(item)
        for k, vals in per_metric.items():
            result.metrics[k] = float(np.mean(vals)) if vals else None
        coco = C.coco_metrics(refs, cands)
        if coco:
            result.metrics.update(coco)
        result.metrics["n"] = len(refs)
        result.metrics["failed_rows"] = len(self.rows) - len(refs)
        simplified_note = ("spice/cider/meteor _simplified: the reference's own stand-ins, not the COCO metrics "
                           "of those names; rouge_l needs rouge-score")
        result.tables.append({"title": f"{self.name}: caption metrics, mean over {len(refs)} caption(s) "
                                       f"({simplified_note})",
                              "columns": ["metric", "value"],
                              "rows": [[k, fmt(v)] for k, v in result.metrics.items()]})
        keys = [k for k in (*C.SIMPLIFIED, *(coco or {})) if result.metrics.get(k) is not None]
        result.charts.append({"title": f"{self.name}: caption metrics", "labels": keys,
                              "values": {"value": [result.metrics[k] for k in keys]}})
        return result


def _loader(cls: type) -> Any:
    def load(root: Any = None, **options: Any) -> Any:
        return cls(root=root, **options)

    load.__doc__ = f"Build the {getattr(cls, 'name', '')!r} benchmark from the files under ``root``."
    load.__name__ = f"load_{cls.__name__}"
    return load


load_camerabench_binary = _loader(CameraBenchBinary)
load_camerabench_vqa = _loader(CameraBenchPairs)
load_camerabench_retrieval = _loader(CameraBenchRetrieval)
load_camerabench_caption = _loader(CameraBenchCaption)
