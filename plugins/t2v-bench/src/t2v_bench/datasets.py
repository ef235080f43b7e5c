"""The built-in benchmarks: loaders for the published files, and how each turns scores into metrics.

File names, layouts and metric definitions follow the VQAScore / GenAI-Bench reference code
(``t2v_metrics``' ``dataset.py``, ``genai_image_eval.py``, ``genai_bench/evaluate.py``); the code is ours.
The README documents, per benchmark, what to download and where to put it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .base import Benchmark, BenchmarkDataError, BenchResult, Sample, check_record

IMAGE_EXTS = (".jpeg", ".jpg", ".png", ".webp")
VIDEO_EXTS = (".mp4", ".webm", ".mov", ".avi", ".mkv", ".gif")

GENAI_BASIC = ["attribute", "scene", "spatial relation", "action relation", "part relation"]
GENAI_ADVANCED = ["counting", "comparison", "differentiation", "negation", "universal"]
#: the three tables the reference prints: basic skills, advanced skills, overall
GENAI_TABLES = {
    "basic": GENAI_BASIC + ["basic"],
    "advanced": GENAI_ADVANCED + ["advanced"],
    "overall": ["basic", "advanced", "all"],
}


# ============================================================================================ helpers


def sample_means(scores: Sequence[np.ndarray]) -> np.ndarray:
    """One number per sample: the mean over its media and texts (frames or views are averaged)."""
    return np.array([float(np.mean(s)) for s in scores], dtype=np.float64)


def human_mean(ratings: Any, where: str) -> float:
    """Mean of a list of human ratings (or a single number)."""
    vals = ratings if isinstance(ratings, (list, tuple)) else [ratings]
    try:
        arr = np.asarray([float(v) for v in vals], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise BenchmarkDataError(f"{where}: human ratings must be numbers, got {ratings!r}") from e
    if arr.size == 0 or not np.isfinite(arr).all():
        raise BenchmarkDataError(f"{where}: human ratings are empty or not finite: {ratings!r}")
    return float(arr.mean())


def find_media(folder: Path, stem: str, exts: Sequence[str]) -> Path:
    """``folder/stem`` with the first extension that exists (the first extension when none does)."""
    for ext in exts:
        p = folder / f"{stem}{ext}"
        if p.exists():
            return p
    return folder / f"{stem}{exts[0]}"


def first_frames(path: Path, num_frames: int) -> list[Any]:
    """The first ``num_frames`` frames of a video, the last frame repeated when it is shorter (the
    reference's frame-averaging protocol for GenAI-Bench video and T2VScore)."""
    from t2v_core.media import Video, load_media

    video = load_media(str(path))
    if not isinstance(video, Video):
        raise BenchmarkDataError(f"{path} is not a video")
    total = video.info.num_frames
    if total < 1:
        raise BenchmarkDataError(f"{path} has no frames")
    frames = video.frames(list(range(min(total, num_frames))))
    return frames + [frames[-1]] * (num_frames - len(frames))


def grid(paths: Sequence[Path], size: int) -> Any:
    """A ``size x size`` grid of the images at ``paths`` (row-major), each cell the first image's size."""
    from PIL import Image

    imgs = [Image.open(p).convert("RGB") for p in paths]
    w, h = imgs[0].size
    canvas = Image.new("RGB", (w * size, h * size))
    for k, img in enumerate(imgs):
        canvas.paste(img.resize((w, h)) if img.size != (w, h) else img, (w * (k % size), h * (k // size)))
    return canvas


def fmt(value: Any, std: Any = None) -> str:
    """A number for a table (``n/a`` for missing or NaN)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if std is not None and isinstance(std, float) and np.isfinite(std):
        return f"{value:.4f} ± {std:.4f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def correlation_table(title: str, rows: dict[str, dict[str, float]]) -> dict[str, Any]:
    """A table of :func:`metrics.correlations` blocks, one row per subset."""
    cols = ["pearson", "spearman", "kendall_tau_b", "kendall_tau_c", "pairwise_acc", "pairwise_acc_no_ties"]
    return {"title": title, "columns": ["subset", *cols, "n"],
            "rows": [[name, *[fmt(r.get(c)) for c in cols], r.get("n", "")] for name, r in rows.items()]}


def winoground_table(title: str, rows: dict[str, dict[str, float]]) -> dict[str, Any]:
    """A table of text/image/group accuracies, one row per subset."""
    return {"title": title, "columns": ["subset", "text", "image", "group", "n"],
            "rows": [[k, fmt(v["text"]), fmt(v["image"]), fmt(v["group"]), v["n"]] for k, v in rows.items()]}


class _RatedBenchmark(Benchmark):
    """A set of (media, prompt) items with human ratings; reports correlations between score and rating."""

    sample_rate: float = 1.0

    def _rated_result(self, scores: Sequence[np.ndarray], human: Sequence[float], items: list[dict[str, Any]],
                      groups: Sequence[Any] | None = None, subsets: dict[str, list[int]] | None = None) -> BenchResult:
        ours = sample_means(scores)
        h = np.asarray(human, dtype=np.float64)
        rate = float(self.options.get("sample_rate", self.sample_rate))
        overall = M.correlations(h, ours, groups=groups, sample_rate=rate)
        overall["n"] = int(ours.size)
        rows = {"all": overall}
        for name, idx in (subsets or {}).items():
            if len(idx) >= 2:
                sub = M.correlations(h[idx], ours[idx], sample_rate=rate)
                sub["n"] = len(idx)
                rows[name] = sub
        for it, s in zip(items, ours):
            it["score"] = float(s)
        return BenchResult(metrics={k: v for k, v in overall.items()},
                           tables=[correlation_table(f"{self.name}: agreement with human ratings", rows)],
                           items=items)


# ============================================================================================ GenAI-Bench image


class GenAIBenchImage(Benchmark):
    """GenAI-Bench image: 1,600 (or the VQAScore paper's 527) compositional prompts with skill tags.

    With ``out`` (a folder of ``<gen_model>/<prompt id>.jpeg`` images) it scores your generators and
    reports per-skill means; without it, it scores the published generations under the benchmark folder
    and also reports agreement with the human ratings.
    """

    name = "genai-bench-image"
    media: tuple[str, ...] = ("image",)
    hf_patterns: tuple[str, ...] = ("genai_image.json", "genai_skills.json")
    prompts_file = "genai_image.json"
    models: tuple[str, ...] = ("DALLE_3", "SDXL_Turbo", "DeepFloyd_I_XL_v1", "Midjourney_6", "SDXL_2_1", "SDXL_Base")
    exts: tuple[str, ...] = IMAGE_EXTS
    kind = "image"

    def option_defaults(self) -> dict[str, Any]:
        return {"prompts": 1600, "out": None, "gen_models": None}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        n = int(options.get("prompts", self.option_defaults()["prompts"]))
        self.folder = self._folder(n)
        self.hf_repo = f"zhiqiulin/GenAI-Bench-{n}"
        if not options.get("out"):  # scoring the published generations needs their archives too
            self.hf_patterns = (*type(self).hf_patterns, *(f"{m}.zip" for m in self.models))
        self.download_hint = (
            f"Download {self.prompts_file} and genai_skills.json from the Hugging Face dataset "
            f"{self.hf_repo} into ROOT/{self.folder}/ (or pass --download when online).")
        super().__init__(root, download, **options)
        self.options["prompts"] = n
        self.prompts = self._load_prompts()
        self.skills = self._load_skills()

    def _folder(self, n: int) -> str:
        if n not in (527, 1600):
            raise ValueError(f"GenAI-Bench image has 1600 or 527 prompts, got prompts={n}")
        return f"GenAI-Image-{n}"

    def _load_prompts(self) -> dict[str, dict[str, Any]]:
        data = self.read_json(self.prompts_file)
        if not isinstance(data, dict) or not data:
            raise BenchmarkDataError(f"{self.dir / self.prompts_file}: expected an object of prompt id -> record")
        for key, rec in data.items():
            check_record(rec, ["prompt"], f"{self.prompts_file} prompt {key!r}")
        return data

    def _load_skills(self) -> dict[str, list[int]]:
        raw = self.read_json("genai_skills.json")
        if not isinstance(raw, dict):
            raise BenchmarkDataError(f"{self.dir / 'genai_skills.json'}: expected an object of skill -> prompt ids")
        skills = {str(k): [int(i) for i in v] for k, v in raw.items()}
        # older copies lack the two group tags: derive them as the union of their skills
        for group, members in (("basic", GENAI_BASIC), ("advanced", GENAI_ADVANCED)):
            if group not in skills:
                skills[group] = sorted({i for s in members for i in skills.get(s, [])})
        return skills

    # ---------------------------------------------------------------------------------- generators
    def source(self) -> Path:
        """Where the generations live: ``out`` if given, else the benchmark folder."""
        out = self.options.get("out")
        return Path(out).expanduser() if out else self.dir

    def gen_models(self) -> list[str]:
        """The generators to score: ``gen_models`` if given, else every subfolder of ``out`` with media, else
        the published models."""
        given = self.options.get("gen_models")
        if given:
            return [given] if isinstance(given, str) else list(given)
        if self.options.get("out"):
            src = self.source()
            if not src.is_dir():
                raise BenchmarkDataError(f"--out folder {src} does not exist: generate images first "
                                         "(`t2v bench generate --gen-model ... --out DIR`)")
            found = self._generator_dirs(src)
            if not found:
                raise BenchmarkDataError(f"--out folder {src} has no generator subfolder of {self.kind}s "
                                         f"(expected {src}/<gen_model>/<prompt id>{self.exts[0]})")
            return found
        return [m for m in self.models if (self.dir / m).is_dir()] or list(self.models)

    def _generator_dirs(self, src: Path) -> list[str]:
        """Subfolders holding media, one level deep or two (``org/model`` as written by ``generate``)."""
        def has_media(p: Path) -> bool:
            return any(q.suffix.lower() in self.exts for q in p.iterdir() if q.is_file())

        found = []
        for p in sorted(src.iterdir()):
            if not p.is_dir():
                continue
            if has_media(p):
                found.append(p.name)
            else:
                found += [f"{p.name}/{q.name}" for q in sorted(p.iterdir()) if q.is_dir() and has_media(q)]
        return found

    def _media_path(self, gen: str, key: str) -> Path:
        return find_media(self.source() / gen, key, self.exts)

    def _media(self, path: Path) -> Any:
        return str(path)

    def samples(self) -> list[Sample]:
        out: list[Sample] = []
        paths = []
        for gen in self.gen_models():
            for key, rec in self.prompts.items():
                p = self._media_path(gen, key)
                paths.append(p)
                out.append(Sample([self._media(p)], [str(rec["prompt"])], {"gen_model": gen, "prompt_id": key}))
        if self.options.get("out"):
            self.require(paths, f"generated {self.kind}", hint=(
                f"Expected {self.source()}/<gen_model>/<prompt id>{self.exts[0]} for every prompt of "
                f"{self.prompts_file}: generate the missing ones (`t2v bench generate`) or check --out/--gen-model."))
        else:
            self.require(paths, f"published {self.kind}", hint=(
                f"Without --out the published generations are scored: unzip the <model>.zip files of the Hugging "
                f"Face dataset {self.hf_repo} to ROOT/{self.folder}/<model>/<prompt id>{self.exts[0]} (or pass "
                f"--download). To score your own generator, pass --out DIR with DIR/<gen_model>/<prompt id>"
                f"{self.exts[0]}."))
        return out

    # ---------------------------------------------------------------------------------- metrics
    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        ours = sample_means(scores)
        gens = self.gen_models()
        keys = list(self.prompts)
        pos = {k: i for i, k in enumerate(keys)}
        skill_idx: dict[str, list[int]] = {}
        for skill, ids in self.skills.items():
            skill_idx[skill] = [pos[f"{i:05d}"] for i in ids if f"{i:05d}" in pos]
        n = len(keys)
        result = BenchResult()
        human_all: list[float] = []
        ours_all: list[float] = []
        groups: list[str] = []  # the prompt id of each human-rated item
        human_skills: dict[str, dict[str, dict[str, Any]]] = {}
        for g_i, gen in enumerate(gens):
            block = ours[g_i * n:(g_i + 1) * n]
            result.skills[gen] = M.skill_means(block, skill_idx)
            result.metrics[f"{gen}/all"] = result.skills[gen].get("all", {}).get("mean")
            ratings = [self.prompts[k].get("models", {}).get(gen) for k in keys]
            if all(r is not None for r in ratings):
                hm = [human_mean(r, f"{self.prompts_file} {k} {gen}") for k, r in zip(keys, ratings)]
                human_skills[gen] = M.skill_means(hm, skill_idx)
                human_all += hm
                ours_all += list(block)
                groups += keys
            for k, s in zip(keys, block):
                result.items.append({"gen_model": gen, "prompt_id": k, "prompt": self.prompts[k]["prompt"],
                                     "score": float(s)})
        for table, cols in GENAI_TABLES.items():
            result.tables.append({
                "title": f"{self.name} ({self.options['prompts']} prompts): {table} skills, mean ± std of the score",
                "columns": ["gen_model", *cols],
                "rows": [[gen, *[fmt(result.skills[gen].get(c, {}).get("mean"), result.skills[gen].get(c, {}).get("std"))
                                 for c in cols]] for gen in gens]})
        if human_all and len(human_all) >= 2:
            corr = M.correlations(human_all, ours_all)
            corr["n"] = len(human_all)
            result.metrics.update({f"human/{k}": v for k, v in corr.items()})
            result.tables.append(correlation_table(f"{self.name}: agreement with human ratings (1-5 Likert)",
                                                   {"all": corr}))
            per_skill = self._skill_agreement(human_all, ours_all, groups)
            for skill, row in per_skill.items():
                result.metrics.update({f"human/{skill}/{k}": v for k, v in row.items()})
            cols = ["pearson", "kendall_tau_b", "pairwise_acc", "n"]
            result.tables.append({
                "title": f"{self.name}: agreement with human ratings per skill (the reference's "
                         "evaluate_scores_per_skill; every rated image of the skill's prompts)",
                "columns": ["skill", *cols],
                "rows": [[skill, *[fmt(row.get(c)) for c in cols]] for skill, row in per_skill.items()]})
            result.charts.append({"title": f"{self.name}: agreement with human ratings per skill",
                                  "labels": list(per_skill),
                                  "values": {c: [row[c] for row in per_skill.values()] for c in cols[:3]}})
            result.tables.append({
                "title": f"{self.name}: human ratings per skill (mean)",
                "columns": ["gen_model", *GENAI_TABLES["overall"]],
                "rows": [[gen, *[fmt(human_skills[gen].get(c, {}).get("mean")) for c in GENAI_TABLES["overall"]]]
                         for gen in human_skills]})
        return result


    def _skill_agreement(self, human: Sequence[float], ours: Sequence[float], prompt_ids: Sequence[str]
                         ) -> dict[str, dict[str, Any]]:
        """Per skill of genai_skills.json (in its order, ``basic``/``advanced`` included), the agreement of the
        score with the human rating over every rated (generator, prompt) item of the skill's prompts: Pearson,
        Kendall tau-b and the tie-calibrated pairwise accuracy, as the reference's ``evaluate_scores_per_skill``
        (fractions, not its x100 Pearson). A skill with fewer than two items gets ``None``."""
        h = np.asarray(human, dtype=np.float64)
        m = np.asarray(ours, dtype=np.float64)
        out: dict[str, dict[str, Any]] = {}
        for skill, ids in self.skills.items():
            wanted = {f"{int(i):05d}" for i in ids}
            idx = [n for n, k in enumerate(prompt_ids) if k in wanted]
            row: dict[str, Any] = {"pearson": None, "kendall_tau_b": None, "pairwise_acc": None, "n": len(idx)}
            if len(idx) >= 2:
                row.update(pearson=M.pearson(h[idx], m[idx]), kendall_tau_b=M.kendall_tau(h[idx], m[idx], "b"),
                           pairwise_acc=M.pairwise_accuracy(h[idx], m[idx]).accuracy)
            out[skill] = row
        return out


class GenAIBenchVideo(GenAIBenchImage):
    """GenAI-Bench video: the same prompts and skills, scored on generated videos.

    ``mode="frames"`` (default, the reference protocol) scores the first ``num_frames`` frames as images and
    averages; ``mode="video"`` hands each video to the scorer, for video-capable models.
    """

    name = "genai-bench-video"
    media = ("video", "image")
    hf_patterns = ("genai_video.json", "genai_skills.json")
    prompts_file = "genai_video.json"
    models = ("Floor33", "Gen2", "Pika_v1", "Modelscope")
    exts = VIDEO_EXTS
    kind = "video"

    def option_defaults(self) -> dict[str, Any]:
        return {"prompts": 800, "out": None, "gen_models": None, "mode": "frames", "num_frames": 36}

    def _folder(self, n: int) -> str:
        if n not in (527, 800):
            raise ValueError(f"GenAI-Bench video has 800 or 527 prompts, got prompts={n}")
        return f"GenAI-Video-{n}"

    def samples(self) -> list[Sample]:
        mode = self.options["mode"]
        if mode not in ("frames", "video"):
            raise ValueError(f"mode must be 'frames' or 'video', got {mode!r}")
        base = super().samples()
        if mode == "video":
            return base
        n = int(self.options["num_frames"])
        for s in base:
            path = Path(s.media[0])
            s.media = _FrameList(path, n)
        return base


class _FrameList:
    """The first ``n`` frames of a video, decoded only when the sample is scored."""

    def __init__(self, path: Path, n: int) -> None:
        self.path, self.n = path, n

    def __len__(self) -> int:
        return self.n

    def __call__(self) -> list[Any]:
        return first_frames(self.path, self.n)


# ============================================================================================ GenAI-Rank


class GenAIRank(_RatedBenchmark):
    """GenAI-Rank: 800 prompts x 9 images of one generator (DALLE_3 or SDXL_Base), each rated by humans;
    measures how well the score ranks the generations of the same prompt."""

    name = "genai-rank"
    folder = "GenAI-Image-Ranking-800"
    hf_repo = "zhiqiulin/GenAI-Image-Ranking-800"
    hf_patterns: tuple[str, ...] = ("human_rating.json", "genai_skills.json")
    download_hint = ("Download human_rating.json and <gen_model>.zip (unzipped to <gen_model>/) from the Hugging "
                     "Face dataset zhiqiulin/GenAI-Image-Ranking-800 into ROOT/GenAI-Image-Ranking-800/.")

    def option_defaults(self) -> dict[str, Any]:
        return {"gen_model": "DALLE_3", "gen_models": None}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        if options.get("gen_models"):
            gm = options.pop("gen_models")
            options["gen_model"] = gm if isinstance(gm, str) else gm[0]
        self.hf_patterns = (*type(self).hf_patterns, f"{options.get('gen_model', 'DALLE_3')}.zip")
        super().__init__(root, download, **options)
        self.data = self.read_json("human_rating.json")
        self.gen = str(self.options["gen_model"])
        self.entries: list[tuple[str, str, str, float]] = []  # prompt id, image id, prompt, human mean
        for pid, rec in self.data.items():
            check_record(rec, ["prompt", "models"], f"human_rating.json prompt {pid!r}")
            ratings = rec["models"].get(self.gen)
            if ratings is None:
                raise BenchmarkDataError(f"human_rating.json prompt {pid!r} has no ratings for gen_model "
                                         f"{self.gen!r} (has {sorted(rec['models'])})")
            for img_id in sorted(ratings, key=lambda x: int(x)):
                self.entries.append((pid, img_id, rec["prompt"], human_mean(ratings[img_id], f"{pid}/{img_id}")))

    def samples(self) -> list[Sample]:
        paths = [find_media(self.dir / self.gen, f"{int(pid):05d}_{int(img):02d}", IMAGE_EXTS)
                 for pid, img, _, _ in self.entries]
        self.require(paths, "ranked image")
        return [Sample([str(p)], [prompt], {"prompt_id": pid, "image": img})
                for p, (pid, img, prompt, _) in zip(paths, self.entries)]

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        human = [e[3] for e in self.entries]
        groups = [e[0] for e in self.entries]
        items = [{"prompt_id": pid, "image": img, "prompt": p, "human": h} for pid, img, p, h in self.entries]
        res = self._rated_result(scores, human, items)
        ours = sample_means(scores)
        h = np.asarray(human)
        grouped = M.pairwise_accuracy(h, ours, groups=groups)
        # best-vs-worst: does the score prefer the image humans rated highest over the one rated lowest?
        hits = []
        for g in dict.fromkeys(groups):
            idx = [i for i, gg in enumerate(groups) if gg == g]
            hi, lo = idx[int(np.argmax(h[idx]))], idx[int(np.argmin(h[idx]))]
            if h[hi] > h[lo]:
                hits.append(float(ours[hi] > ours[lo]))
        res.metrics["pairwise_acc_per_prompt"] = grouped.accuracy
        res.metrics["pairwise_acc_per_prompt_threshold"] = grouped.threshold
        res.metrics["best_vs_worst_acc"] = float(np.mean(hits)) if hits else float("nan")
        res.tables.append({"title": f"{self.name} ({self.gen}): ranking within each prompt",
                           "columns": ["pairwise_acc_per_prompt", "best_vs_worst_acc", "prompts"],
                           "rows": [[fmt(grouped.accuracy), fmt(res.metrics["best_vs_worst_acc"]), grouped.num_groups]]})
        return res


# ============================================================================================ 2x2 retrieval sets


class _PairedCaptions(Benchmark):
    """Items of two images and two captions; text/image/group accuracy (Winoground protocol)."""

    def records(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def image_dir(self) -> Path:
        return self.dir / "images"

    def _paths(self, rec: dict[str, Any]) -> tuple[Path, Path]:
        raise NotImplementedError

    def _captions(self, rec: dict[str, Any]) -> tuple[str, str]:
        raise NotImplementedError

    def subsets(self) -> dict[str, list[int]]:
        return {}

    def samples(self) -> list[Sample]:
        recs = self.records()
        if not recs:
            raise BenchmarkDataError(f"benchmark {self.name!r}: no items in {self.dir}")
        pairs = [self._paths(r) for r in recs]
        self.require([p for pair in pairs for p in pair], "image")
        return [Sample([str(a), str(b)], list(self._captions(r)), {"index": k})
                for k, ((a, b), r) in enumerate(zip(pairs, recs))]

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        s = np.stack([np.asarray(x, dtype=np.float64) for x in scores])
        rows = {"all": M.winoground_accuracy(s)}
        for name, idx in self.subsets().items():
            if idx:
                rows[name] = M.winoground_accuracy(s[idx])
        items = [{"index": k, "caption_0": c[0], "caption_1": c[1], "i0_c0": float(x[0, 0]), "i0_c1": float(x[0, 1]),
                  "i1_c0": float(x[1, 0]), "i1_c1": float(x[1, 1])}
                 for k, (x, c) in enumerate(zip(s, (self._captions(r) for r in self.records())))]
        return BenchResult(metrics={k: v for k, v in rows["all"].items()},
                           tables=[winoground_table(f"{self.name}: text / image / group accuracy", rows)], items=items)


class Winoground(_PairedCaptions):
    """Winoground (400 items): two images, two captions with the same words in a different order."""

    name = "winoground"
    folder = "winoground"
    hf_repo = "facebook/winoground"
    hf_patterns = ("data/examples.jsonl", "data/images.zip")
    download_hint = ("Download data/examples.jsonl and data/images.zip from the Hugging Face dataset "
                     "facebook/winoground (gated: accept its terms) and unzip so that you have "
                     "ROOT/winoground/examples.jsonl and ROOT/winoground/images/ex_0_img_0.png ...")

    def records(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_recs"):
            path = "data/examples.jsonl" if (self.dir / "data" / "examples.jsonl").exists() else "examples.jsonl"
            self._recs = self.read_jsonl(path)
            for k, r in enumerate(self._recs):
                check_record(r, ["image_0", "image_1", "caption_0", "caption_1"], f"examples.jsonl line {k + 1}")
        return self._recs

    def image_dir(self) -> Path:
        for cand in (self.dir / "images", self.dir / "data" / "images"):
            if cand.is_dir():
                return cand
        return self.dir / "images"

    def _paths(self, rec: dict[str, Any]) -> tuple[Path, Path]:
        d = self.image_dir()
        return tuple(d / n if Path(n).suffix else find_media(d, n, (".png", ".jpg", ".jpeg"))  # type: ignore[return-value]
                     for n in (rec["image_0"], rec["image_1"]))

    def _captions(self, rec: dict[str, Any]) -> tuple[str, str]:
        return str(rec["caption_0"]), str(rec["caption_1"])

    def subsets(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for k, r in enumerate(self.records()):
            if "num_main_preds" in r:
                out.setdefault(f"{r['num_main_preds']} Main Pred", []).append(k)
            if r.get("collapsed_tag"):
                out.setdefault(str(r["collapsed_tag"]), []).append(k)
        hard = self.dir / "why_winoground_hard.json"
        if hard.exists():
            ids = {int(r.get("id", k)): k for k, r in enumerate(self.records())}
            for idx, tags in self.read_json("why_winoground_hard.json").items():
                for tag in (tags or ["No Tag"]):
                    if int(idx) in ids:
                        out.setdefault(tag, []).append(ids[int(idx)])
        return out


class EqBenMini(_PairedCaptions):
    """EqBen (the VQAScore paper's mini subset of 280 items) in the Winoground protocol."""

    name = "eqben-mini"
    folder = "eqben_vllm"
    download_hint = ("Download eqben_vllm.zip (Google Drive id 11YUTf06uzRHtFV8rYi96z4vTPi8_GNEM, as in the "
                     "t2v_metrics README) and unzip so that you have ROOT/eqben_vllm/all_select.json and "
                     "ROOT/eqben_vllm/images/<subset>/...")
    SUBSETS = {"eqbensd": ["eqbensd"], "eqbenk": ["eqbenkubric_cnt", "eqbenkubric_loc", "eqbenkubric_attr"],
               "eqbeng": ["eqbengebc"], "eqbenag": ["eqbenag"], "eqbeny": ["eqbenyoucook2"]}

    def records(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_recs"):
            self._recs = self.read_json("all_select.json")
            for k, r in enumerate(self._recs):
                check_record(r, ["image0", "image1", "caption0", "caption1"], f"all_select.json item {k}")
        return self._recs

    def _paths(self, rec: dict[str, Any]) -> tuple[Path, Path]:
        return self.image_dir() / rec["image0"], self.image_dir() / rec["image1"]

    def _captions(self, rec: dict[str, Any]) -> tuple[str, str]:
        return str(rec["caption0"]), str(rec["caption1"])

    def subsets(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {name: [] for name in self.SUBSETS}
        for k, r in enumerate(self.records()):
            top = str(r["image0"]).split("/")[0]
            for name, tops in self.SUBSETS.items():
                if top in tops:
                    out[name].append(k)
                    break
        return out


class NaturalBenchRetrieval(_PairedCaptions):
    """NaturalBench retrieval: natural image pairs with adversarial caption pairs, Winoground protocol."""

    name = "naturalbench-retrieval"
    folder = "NaturalBench-Retrieval"
    download_hint = ("Download NaturalBench-Retrieval.zip from the Hugging Face dataset BaiqiL/NaturalBench and "
                     "unzip so that you have ROOT/NaturalBench-Retrieval/metadata.json and .../images/.")
    hf_repo = "BaiqiL/NaturalBench"
    hf_patterns = ("NaturalBench-Retrieval.zip",)
    hf_into_root = True

    def records(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_recs"):
            self._recs = self.read_json("metadata.json")
            for k, r in enumerate(self._recs):
                check_record(r, ["image_0", "image_1", "caption_0", "caption_1"], f"metadata.json item {k}")
        return self._recs

    def _paths(self, rec: dict[str, Any]) -> tuple[Path, Path]:
        return self.image_dir() / rec["image_0"], self.image_dir() / rec["image_1"]

    def _captions(self, rec: dict[str, Any]) -> tuple[str, str]:
        return str(rec["caption_0"]), str(rec["caption_1"])


# ============================================================================================ rated sets


class TIFA160(_RatedBenchmark):
    """TIFA160 with the DSG paper's 1-5 Likert ratings: 160 prompts x 5 generators (800 images)."""

    name = "tifa160"
    folder = "tifa160"
    download_hint = ("Download tifa160.zip (Google Drive id 1hHVMeVDZlnJz1FFhy_BxiZGIz1tEMm0s) and unzip to "
                     "ROOT/tifa160/<source_id>_<model>.jpg; put tifa160.json (t2v_metrics datasets/) and "
                     "dsg_tifa160_anns.csv (DSG repo, j-min/DSG) in ROOT/tifa160/ too.")
    MODEL_NAMES = {"mini-dalle": "mini_dalle", "vq-diffusion": "vq_diffusion", "sd1dot5": "stable_diffusion_v1_5",
                   "sd2dot1": "stable_diffusion_v2_1", "sd1dot1": "stable_diffusion_v1_1"}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        super().__init__(root, download, **options)
        self.meta = self.read_json("tifa160.json")
        ratings: dict[str, list[float]] = {}
        for n, row in enumerate(self.read_csv("dsg_tifa160_anns.csv")):
            check_record(row, ["source_id", "model_type", "answer"], f"dsg_tifa160_anns.csv row {n + 2}")
            model = self.MODEL_NAMES.get(row["model_type"], row["model_type"])
            ratings.setdefault(f"{row['source_id']}_{model}", []).append(float(row["answer"]))
        self.keys = [k for k in self.meta if k in ratings]
        if not self.keys:
            raise BenchmarkDataError("tifa160: no image of tifa160.json has a rating in dsg_tifa160_anns.csv")
        self.human = {k: float(np.mean(ratings[k])) for k in self.keys}

    def samples(self) -> list[Sample]:
        paths = [self.dir / self.meta[k]["image_path"] for k in self.keys]
        self.require(paths, "image")
        return [Sample([str(p)], [str(self.meta[k]["text"])], {"key": k}) for p, k in zip(paths, self.keys)]

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        items = [{"key": k, "text": self.meta[k]["text"], "human": self.human[k]} for k in self.keys]
        return self._rated_result(scores, [self.human[k] for k in self.keys], items)


class _ModelRated(_RatedBenchmark):
    """``{prompt id: {"prompt", "models": {model: [ratings]}}}`` annotations with one generation per model."""

    annotations = ""
    default_models: tuple[str, ...] = ()

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        super().__init__(root, download, **options)
        data = self.read_json(self.annotations)
        models = self.options.get("models") or self.default_models
        models = [m.strip() for m in models.split(",")] if isinstance(models, str) else list(models)
        self.entries: list[tuple[str, str, str, float]] = []  # model, prompt id, prompt, human mean
        for model in models:
            for pid, rec in data.items():
                check_record(rec, ["prompt", "models"], f"{self.annotations} prompt {pid!r}")
                r = rec["models"].get(model)
                if r:  # the reference skips prompts a model has no rating for
                    self.entries.append((model, pid, str(rec["prompt"]), human_mean(r, f"{pid}/{model}")))
        if not self.entries:
            raise BenchmarkDataError(f"{self.annotations}: no ratings for models {models}")

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        items = [{"model": m, "prompt_id": p, "prompt": t, "human": h} for m, p, t, h in self.entries]
        subsets: dict[str, list[int]] = {}
        for k, e in enumerate(self.entries):
            subsets.setdefault(e[0], []).append(k)
        return self._rated_result(scores, [e[3] for e in self.entries], items, subsets=subsets)


class StanfordT23D(_ModelRated):
    """StanfordT23D: text-to-3D generations of 6 methods rendered from 120 views, with human ratings.

    Each object is scored as one image: a grid of views (``view_mode``, default the reference's
    ``rgb_grid_3_x_3``: views 2, 15, ..., 106 of the RGB renders)."""

    name = "stanfordt23d"
    folder = "stanfordt23d"
    annotations = "stanfordt23d.json"
    # the reference lists ' shap-e' with a stray space, so its published numbers leave shap-e out; so do we
    default_models = ("dreamfusion", "instant3d", "latent-nerf", "magic3d", "mvdream")
    download_hint = ("Download stanfordt23d.zip from the Hugging Face dataset zhiqiulin/vqascore_ablation and "
                     "unzip to ROOT/stanfordt23d/<model>/<prompt id>/0/rgb_<view>.jpg; put stanfordt23d.json "
                     "(t2v_metrics datasets/) in ROOT/stanfordt23d/.")
    VIEWS = {2: [5, 35, 65, 95], 3: [2, 15, 28, 41, 54, 67, 80, 93, 106]}

    def option_defaults(self) -> dict[str, Any]:
        return {"models": None, "view_mode": "rgb_grid_3_x_3"}

    def samples(self) -> list[Sample]:
        mode = str(self.options["view_mode"])
        kind, _, size = mode.partition("_grid_")
        if kind not in ("rgb", "normal") or size not in ("2_x_2", "3_x_3"):
            raise ValueError(f"view_mode must be rgb_grid_3_x_3, rgb_grid_2_x_2, normal_grid_3_x_3 or "
                             f"normal_grid_2_x_2, got {mode!r}")
        n = int(size[0])
        out, paths = [], []
        for model, pid, prompt, _ in self.entries:
            views = [self.dir / model / str(pid) / "0" / f"{kind}_{v}.jpg" for v in self.VIEWS[n]]
            paths += views
            out.append(Sample([_Lazy(grid, views, n)], [prompt], {"model": model, "prompt_id": pid}))
        self.require(paths, "rendered view")
        return out


class _Lazy:
    """A media item built when it is scored (``fn(*args)``)."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __call__(self) -> Any:
        return self.fn(*self.args)


class T2VScore(_ModelRated):
    """T2VScore (EvalCrafter videos of 5 text-to-video models) with human alignment ratings.

    ``mode="frames"`` (default, the reference protocol) averages the image score of the first
    ``num_frames`` frames; ``mode="video"`` hands the video to a video-capable scorer."""

    name = "t2vscore"
    folder = "t2vscore"
    media = ("video", "image")
    annotations = "t2vscore_alignment_score.json"
    default_models = ("floor33", "gen2", "pika", "modelscope", "zeroscope")
    download_hint = ("Download floor33.tar.gz, gen2_december.tar.gz, pika_v1_december.tar.gz, modelscope.tar.gz "
                     "and zeroscope.tar.gz from the Hugging Face dataset RaphaelLiu/EvalCrafter_T2V_Dataset, "
                     "extract each to ROOT/t2vscore/<model>/<prompt id:04d>.mp4 (model = floor33, gen2, pika, "
                     "modelscope, zeroscope) and put t2vscore_alignment_score.json (t2v_metrics datasets/) in "
                     "ROOT/t2vscore/.")

    def option_defaults(self) -> dict[str, Any]:
        return {"models": None, "mode": "frames", "num_frames": 36}

    def samples(self) -> list[Sample]:
        mode = self.options["mode"]
        if mode not in ("frames", "video"):
            raise ValueError(f"mode must be 'frames' or 'video', got {mode!r}")
        paths = [find_media(self.dir / m, f"{int(pid):04d}", (".mp4",)) for m, pid, _, _ in self.entries]
        self.require(paths, "video")
        n = int(self.options["num_frames"])
        return [Sample(_FrameList(p, n) if mode == "frames" else [str(p)], [prompt], {"model": m, "prompt_id": pid})
                for p, (m, pid, prompt, _) in zip(paths, self.entries)]


class Flickr8KCF(_RatedBenchmark):
    """Flickr8K-CF: Flickr8K images with candidate captions rated by CrowdFlower workers."""

    name = "flickr8k-cf"
    folder = "flickr8k"
    sample_rate = 0.1  # the reference samples 10% of the ~1.4e8 pairs for the pairwise accuracy
    download_hint = ("Download flickr8k.zip (Google Drive id 1WEg-xbUZ971P3Q0RDA8nVfKJrtpjTqCM, as in the "
                     "t2v_metrics README) and unzip to ROOT/flickr8k/ (crowdflower_flickr8k.json and the images "
                     "it names).")

    def option_defaults(self) -> dict[str, Any]:
        return {"sample_rate": 0.1}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        super().__init__(root, download, **options)
        data = self.read_json("crowdflower_flickr8k.json")
        self.entries: list[tuple[str, Path, str, float]] = []
        for k, v in data.items():
            check_record(v, ["image_path", "human_judgement"], f"crowdflower_flickr8k.json {k!r}")
            for j in v["human_judgement"]:
                caption = " ".join(str(j["caption"]).split()).strip(".").strip(" ")
                self.entries.append((k, self.dir / v["image_path"], caption, human_mean(j["rating"], k)))

    def samples(self) -> list[Sample]:
        self.require(sorted({e[1] for e in self.entries}), "image")
        return [Sample([str(p)], [c], {"image_id": k}) for k, p, c, _ in self.entries]

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        items = [{"image_id": k, "caption": c, "human": h} for k, _, c, h in self.entries]
        return self._rated_result(scores, [e[3] for e in self.entries], items)


# ============================================================================================ preference / binary


class PickAPicV1(Benchmark):
    """Pick-a-Pic v1 (the VQAScore paper's 100-pair subset): which of two images did the user prefer?"""

    name = "pickapic-v1"
    folder = "pickapic_v1"
    download_hint = ("Download pickapic_v1.zip from the Hugging Face dataset zhiqiulin/vqascore_ablation and "
                     "unzip to ROOT/pickapic_v1/ (test_captions.json and the images it names).")
    # the item ids of the VQAScore paper's subset (as in the reference's dataset.py)
    SUBSET = [1, 9, 385, 14, 138, 5, 31, 33, 39, 352, 21, 417, 399, 17, 82, 412, 78, 53, 54, 59, 60, 308, 76, 142,
              98, 259, 317, 110, 113, 118, 112, 119, 144, 148, 149, 153, 159, 162, 172, 111, 124, 196, 197, 220, 35,
              141, 252, 475, 368, 214, 150, 43, 221, 163, 228, 236, 57, 326, 257, 266, 268, 62, 274, 277, 278, 281,
              105, 285, 286, 301, 419, 91, 312, 316, 318, 319, 334, 335, 339, 340, 347, 350, 367, 374, 375, 382,
              376, 387, 345, 405, 411, 478, 441, 444, 99, 384, 472, 479, 490, 493]

    def option_defaults(self) -> dict[str, Any]:
        return {"subset": "vqascore"}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        super().__init__(root, download, **options)
        data = self.read_json("test_captions.json")
        by_id = {int(r["id"]): r for r in data}
        if self.options["subset"] == "vqascore":
            missing = [i for i in self.SUBSET if i not in by_id]
            if missing:
                raise BenchmarkDataError(f"pickapic-v1: test_captions.json lacks item ids {missing[:5]} of the "
                                         "VQAScore subset; pass --option subset=all to use every item")
            self.recs = [by_id[i] for i in self.SUBSET]
        elif self.options["subset"] == "all":
            self.recs = list(data)
        else:
            raise ValueError(f"subset must be 'vqascore' or 'all', got {self.options['subset']!r}")
        for r in self.recs:
            check_record(r, ["caption", "image_0", "image_1", "label_0"], f"test_captions.json id {r.get('id')}")

    def samples(self) -> list[Sample]:
        pairs = [(self.dir / r["image_0"], self.dir / r["image_1"]) for r in self.recs]
        self.require([p for pr in pairs for p in pr], "image")
        return [Sample([str(a), str(b)], [str(r["caption"])], {"id": r["id"]}) for (a, b), r in zip(pairs, self.recs)]

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        s = np.stack([np.asarray(x, dtype=np.float64).reshape(2) for x in scores])
        M.as_vector(s.ravel(), "scores")
        # as the reference: the first image is predicted on ties; a 0.5/0.5 (tied) label counts as image 1
        pred = np.where(s[:, 0] >= s[:, 1], 0, 1)
        label = np.array([0 if float(r["label_0"]) == 1 else 1 for r in self.recs])
        acc = float(np.mean(pred == label))
        items = [{"id": r["id"], "caption": r["caption"], "score_0": float(a), "score_1": float(b), "label": int(lab)}
                 for r, (a, b), lab in zip(self.recs, s, label)]
        return BenchResult(metrics={"accuracy": acc, "n": len(self.recs)},
                           tables=[{"title": f"{self.name}: preference accuracy", "columns": ["accuracy", "n"],
                                    "rows": [[fmt(acc), len(self.recs)]]}], items=items)


class SeeTrue(Benchmark):
    """SeeTRUE: real and synthetic image-text pairs labelled aligned (1) or not (0); AUROC per source."""

    name = "seetrue"
    folder = "seetrue"
    hf_repo = "yonatanbitton/SeeTRUE"
    hf_patterns = ("SeeTRUE.csv", "images.zip")
    download_hint = ("Download SeeTRUE.csv and images.zip from the Hugging Face dataset yonatanbitton/SeeTRUE "
                     "into ROOT/seetrue/ and unzip images.zip there (ROOT/seetrue/images/<image>).")

    def option_defaults(self) -> dict[str, Any]:
        return {"threshold": 0.5}

    def __init__(self, root: Any = None, download: bool = False, **options: Any) -> None:
        super().__init__(root, download, **options)
        self.rows = self.read_csv("SeeTRUE.csv")
        for n, r in enumerate(self.rows):
            check_record(r, ["image", "text", "label", "dataset_source"], f"SeeTRUE.csv row {n + 2}")

    def samples(self) -> list[Sample]:
        paths = [self.dir / "images" / r["image"] for r in self.rows]
        self.require(paths, "image")
        return [Sample([str(p)], [str(r["text"])], {"row": n}) for n, (p, r) in enumerate(zip(paths, self.rows))]

    def evaluate(self, scores: Sequence[np.ndarray]) -> BenchResult:
        ours = sample_means(scores)
        labels = np.array([float(r["label"]) for r in self.rows])
        thr = float(self.options["threshold"])
        rows: dict[str, dict[str, Any]] = {}
        sources = list(dict.fromkeys(r["dataset_source"] for r in self.rows))
        for src in sources:
            idx = [i for i, r in enumerate(self.rows) if r["dataset_source"] == src]
            rows[src] = {"auroc": M.auroc(labels[idx], ours[idx]), "accuracy": M.binary_accuracy(labels[idx], ours[idx], thr),
                         "n": len(idx), "n_pos": int(labels[idx].sum())}
        rows["all"] = {"auroc": M.auroc(labels, ours), "accuracy": M.binary_accuracy(labels, ours, thr),
                       "n": len(ours), "n_pos": int(labels.sum())}
        metrics = {"auroc": rows["all"]["auroc"], "accuracy": rows["all"]["accuracy"]}
        metrics.update({f"{s}/auroc": rows[s]["auroc"] for s in sources})
        items = [{"image": r["image"], "text": r["text"], "label": int(float(r["label"])), "source": r["dataset_source"],
                  "score": float(s)} for r, s in zip(self.rows, ours)]
        return BenchResult(metrics=metrics, items=items, tables=[{
            "title": f"{self.name}: AUROC and accuracy (score >= {thr}) per source",
            "columns": ["source", "auroc", "accuracy", "n", "positives"],
            "rows": [[k, fmt(v["auroc"]), fmt(v["accuracy"]), v["n"], v["n_pos"]] for k, v in rows.items()]}])


# ============================================================================================ loaders


def _loader(cls: type) -> Any:
    def load(root: Any = None, **options: Any) -> Any:
        return cls(root=root, **options)

    load.__doc__ = f"Build the {getattr(cls, 'name', '')!r} benchmark from the files under ``root``."
    load.__name__ = f"load_{cls.__name__}"
    return load


load_genai_bench_image = _loader(GenAIBenchImage)
load_genai_bench_video = _loader(GenAIBenchVideo)
load_genai_rank = _loader(GenAIRank)
load_winoground = _loader(Winoground)
load_eqben_mini = _loader(EqBenMini)
load_naturalbench_retrieval = _loader(NaturalBenchRetrieval)
load_tifa160 = _loader(TIFA160)
load_stanfordt23d = _loader(StanfordT23D)
load_t2vscore = _loader(T2VScore)
load_flickr8k_cf = _loader(Flickr8KCF)
load_pickapic_v1 = _loader(PickAPicV1)
load_seetrue = _loader(SeeTrue)
