"""Tools for plugin authors' tests: a conformance kit for scorers, and a fake offline Hugging Face cache.

    from t2v_core.testing import check_scorer, make_fake_hf_cache

    def test_conformance(tiny_model):
        check_scorer(t2v_core.VQAScore(model="my-vlm-7b", device="cpu"), images=[...], texts=[...])
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MediaError, TemplateError


def make_fake_hf_cache(cache_dir: str | Path, repo_id: str, files: str | Path | Mapping[str, bytes | str],
                       commit: str | None = None, repo_type: str = "model") -> Path:
    """Lay out ``files`` in ``cache_dir`` as the Hugging Face hub cache holds ``repo_id`` at ``commit``.

    ``files`` is a folder (e.g. a ``save_pretrained`` output) or a mapping of relative path to content.
    Point ``HF_HUB_CACHE`` at ``cache_dir`` and set ``HF_HUB_OFFLINE=1``: libraries then load the repo by its
    id through their usual code path. Returns the snapshot folder.
    """
    prefix = {"model": "models", "dataset": "datasets", "space": "spaces"}[repo_type]
    repo_dir = Path(cache_dir) / f"{prefix}--{repo_id.replace('/', '--')}"
    commit = commit or hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    if isinstance(files, (str, Path)):
        src = Path(files)
        for f in src.rglob("*"):
            if f.is_file():
                dest = snapshot / f.relative_to(src)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest)
    else:
        for rel, content in files.items():
            dest = snapshot / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(content.encode() if isinstance(content, str) else content)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return snapshot


@contextlib.contextmanager
def offline_hf_cache(cache_dir: str | Path) -> Iterator[Path]:
    """Point the Hugging Face libraries at ``cache_dir`` with downloads off, for the duration of the block.

    The environment variables alone are not enough once ``huggingface_hub`` is imported (it reads them at
    import time), so its constants are switched too, and everything is restored afterwards.
    """
    cache_dir = Path(cache_dir)
    env = {"HF_HUB_CACHE": str(cache_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    saved_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    patched: list[tuple[Any, str, Any]] = []
    try:
        import huggingface_hub.constants as hc

        for attr, value in (("HF_HUB_CACHE", str(cache_dir)), ("HUGGINGFACE_HUB_CACHE", str(cache_dir)),
                            ("HF_HUB_OFFLINE", True)):
            if hasattr(hc, attr):
                patched.append((hc, attr, getattr(hc, attr)))
                setattr(hc, attr, value)
    except ImportError:
        pass
    try:
        yield cache_dir
    finally:
        for obj, attr, old in patched:
            setattr(obj, attr, old)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_benchmark_script(name: str, *args: str, env: Mapping[str, str] | None = None,
                         timeout: float = 900) -> str:
    """Run this repository's ``benchmarks/<name>`` in a fresh interpreter; returns what it printed.

    A smoke test for a benchmark script in the environment of a plugin's tests: the script must run to the
    end, its own agreement checks included, so that a change to a scorer cannot silently break its benchmark.
    Speed is not judged (the scripts print ratios for people). The script is looked for in the working
    directory and its parents; the test is skipped when there is none (a plugin tested outside the repo).
    """
    import subprocess
    import sys

    import pytest

    here = Path.cwd().resolve()
    script = next((d / "benchmarks" / name for d in (here, *here.parents) if (d / "benchmarks" / name).is_file()),
                  None)
    if script is None:
        pytest.skip(f"benchmarks/{name} not found from {here} (not run from the repository)")
    run = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "T2V_PROGRESS": "0", **(env or {})})
    if run.returncode != 0:
        raise AssertionError(f"benchmarks/{name} exited with {run.returncode}:\n{run.stdout[-3000:]}\n"
                             f"{run.stderr[-3000:]}")
    return run.stdout


def random_images(n: int, size: tuple[int, int] = (64, 48), seed: int = 0) -> list[Any]:
    """``n`` random RGB PIL images (deterministic for a seed)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(n)]


def write_video(path: str | Path, frames: Sequence[Any], fps: float = 10, codec: str = "mpeg4") -> Path:
    """Encode HxWx3 uint8 frames into a video file with PyAV (for tests that need a real video file)."""
    from fractions import Fraction

    import av

    path = Path(path)
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.height, stream.width = np.asarray(frames[0]).shape[:2]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.asarray(f, dtype=np.uint8), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    import torch

    return bool(torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def check_scorer(score: Any, images: Sequence[Any] | None = None, texts: Sequence[str] | None = None, *,
                 videos: Sequence[Any] | None = None, rtol: float = 1e-4, atol: float = 1e-6,
                 call_kwargs: Mapping[str, Any] | None = None, check_templates: bool = True) -> dict[str, Any]:
    """Run the conformance checks on a built scorer (a :class:`t2v_core.Score`); raises AssertionError.

    Checks: M x N shape and float dtype; finite values; M x N equals scoring each pair alone; the same call
    twice gives the same numbers; for VQA scorers, other templates change the scores and malformed ones are
    refused; bad inputs (missing file, undecodable bytes, non-string text, empty texts) are refused with
    errors naming the item; videos are scored if the model accepts them, or refused clearly if not.
    Returns a small report (the matrix and the largest pairwise deviation).
    """
    import torch

    kw = dict(call_kwargs or {})
    images = list(images) if images is not None else random_images(3)
    texts = list(texts) if texts is not None else ["a red cube", "two dogs playing in the snow"]
    assert len(images) >= 2 and len(texts) >= 2, "check_scorer needs at least 2 images and 2 texts"

    scores = score(images=images, texts=texts, **kw)
    assert isinstance(scores, torch.Tensor), f"expected a torch.Tensor, got {type(scores).__name__}"
    assert tuple(scores.shape) == (len(images), len(texts)), f"expected shape {(len(images), len(texts))}, got {tuple(scores.shape)}"
    assert scores.dtype == torch.float32, f"expected float32 scores, got {scores.dtype}"
    assert torch.isfinite(scores).all(), f"non-finite scores: {scores}"

    worst = 0.0
    for i, img in enumerate(images):
        for j, text in enumerate(texts):
            single = score(images=[img], texts=[text], **kw)
            assert tuple(single.shape) == (1, 1), f"one pair must give a 1 x 1 tensor, got {tuple(single.shape)}"
            dev = abs(float(single[0, 0]) - float(scores[i, j])) / max(abs(float(scores[i, j])), 1e-12)
            worst = max(worst, dev)
            assert _close(single[0, 0], scores[i, j], rtol, atol), (
                f"M x N differs from pairwise at ({i}, {j}): {float(scores[i, j])!r} vs {float(single[0, 0])!r}")

    again = score(images=images, texts=texts, **kw)
    assert _close(again, scores, rtol, atol), "the same call twice gave different scores"

    if score.spec.kind == "vqa" and check_templates:
        other = score(images=images, texts=texts, question_template='Is "{}" what this picture shows?',
                      answer_template="No", **kw)
        assert not _close(other, scores, 1e-7, 0.0), "a different question/answer template did not change the scores"
        for bad, answer in (("Does it show {0}?", None), ("{} and {}", None), ("{name}", None),
                            ("Does it look good?", "Yes")):  # the last: the text appears nowhere
            try:
                score(images=images[:1], texts=texts[:1], question_template=bad, answer_template=answer, **kw)
            except TemplateError:
                pass
            else:
                raise AssertionError(f"malformed question template {bad!r} was accepted")

    _expect(MediaError, "1", lambda: score(images=[images[0], "/nonexistent/t2v-missing.png"], texts=texts[:1], **kw))
    _expect(MediaError, "0", lambda: score(images=[b"not an image at all"], texts=texts[:1], **kw))
    _expect(ValueError, "text 1", lambda: score(images=images[:1], texts=[texts[0], 3], **kw))
    _expect(ValueError, "empty", lambda: score(images=images[:1], texts=[], **kw))

    frames = [np.asarray(im.convert("RGB") if hasattr(im, "convert") else im) for im in random_images(4, seed=1)]
    video_items = list(videos) if videos is not None else [frames]
    if "video" in score.spec.media:
        vs = score(images=video_items, texts=texts, **kw)
        assert tuple(vs.shape) == (len(video_items), len(texts)) and torch.isfinite(vs).all(), f"bad video scores {vs}"
    else:
        _expect(MediaError, "video", lambda: score(images=video_items, texts=texts, **kw))
    return {"scores": scores, "max_pairwise_rel_dev": worst}


def _expect(exc: type[BaseException], fragment: str, fn: Any) -> None:
    try:
        fn()
    except exc as e:
        assert fragment.lower() in str(e).lower(), f"{exc.__name__} raised but its message lacks {fragment!r}: {e}"
        return
    raise AssertionError(f"expected {exc.__name__} (mentioning {fragment!r}), but nothing was raised")


def check_offline_error(model: str, cache_dir: str | Path, repo: str, **options: Any) -> str:
    """Build ``model`` with an empty offline Hugging Face cache at ``cache_dir`` and check that the failure is
    the one short :class:`~t2v_core.WeightsNotFoundError`, in Python and from ``t2v score`` (exit code 1, one
    line naming the model, ``repo`` and ``t2v download``). Returns the message."""
    import io

    from .cli import main
    from .errors import WeightsNotFoundError, weights_missing_message
    from .frontend import get_score_model

    want = weights_missing_message(model, repo, offline=True)
    with offline_hf_cache(cache_dir):
        try:
            get_score_model(model, device="cpu", **options)
        except WeightsNotFoundError as e:
            assert str(e) == want, f"{e}\n!=\n{want}"
            assert (e.model, e.repo) == (model, repo)
        else:
            raise AssertionError(f"{model!r} built with an empty offline cache")
        err = io.StringIO()
        probe = Path(cache_dir) / "probe.png"  # a readable image: the failure must be the weights, not the media
        random_images(1)[0].save(probe)
        argv = ["score", "--model", model, "--image", str(probe), "--text", "a"]
        for k, v in options.items():
            argv += ["--option", f"{k}={json.dumps(v)}"]
        with contextlib.redirect_stderr(err):
            rc = main(argv)
    assert rc == 1, (rc, err.getvalue())
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip() and not ln.startswith(("ERROR:", "WARNING:"))]
    assert lines == [f"t2v score: error: {want}"], err.getvalue()
    return want


_SYNC_METHODS = frozenset({"item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__"})


class HostSyncs(list):
    """The calls :func:`count_host_syncs` saw, as ``(method, "file:line")`` of the caller."""

    def sites(self, under: str = "") -> list[tuple[str, str]]:
        """The calls made from files whose path contains ``under`` (e.g. ``"t2v_hf/"``)."""
        return [s for s in self if under in s[1]]


@contextlib.contextmanager
def count_host_syncs(*modules: Any) -> Iterator[HostSyncs]:
    """Record every call that would make the host wait for an accelerator, on a CPU run.

    The outputs of ``modules``' forward passes (every tensor field of the output, e.g. ``logits``,
    ``last_hidden_state``) stand for tensors living on the device: they and everything computed from them are
    tagged, and each ``.item()``, ``.tolist()``, ``.cpu()``, ``.numpy()``, ``float()``, ``int()``, ``bool()``
    (an ``if`` on a tensor) on a tagged tensor is recorded with the line that made it. On CUDA each of these
    blocks the host until the GPU has finished all the work queued so far. ``modules`` are usually the
    scorer's model (or its language model)."""
    import sys

    import torch

    seen = HostSyncs()

    class OnDevice(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            if getattr(func, "__name__", "") in _SYNC_METHODS:
                frame: Any = sys._getframe(1)
                while frame is not None and "/torch/" in frame.f_code.co_filename:
                    frame = frame.f_back
                where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"
                seen.append((func.__name__, where))
                # the answer is a plain value or a host tensor: untag it so that it is not counted twice
                with torch._C.DisableTorchFunctionSubclass():
                    return func(*args, **(kwargs or {}))
            return super().__torch_function__(func, types, args, kwargs or {})

    def tag(value: Any) -> Any:
        return value.as_subclass(OnDevice) if isinstance(value, torch.Tensor) and type(value) is torch.Tensor \
            else value

    def hook(module: Any, args: Any, output: Any) -> Any:
        if isinstance(output, torch.Tensor):
            return tag(output)
        if hasattr(output, "keys"):  # transformers ModelOutput: tag its tensor fields
            for k in list(output.keys()):
                output[k] = tag(output[k])
        return output

    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def check_gpu_check_on_cpu(family: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Run ``benchmarks/gpu_check.py`` (the one-shot GPU check) for one family in its CPU smoke mode, in bf16
    as on a GPU, and check what it reports: every shape timed, its FLOPs counted, more pairs no less work,
    and bf16 scores near float32's. Returns its records."""
    import json

    records = tmp_path / "gpu.json"
    run_benchmark_script("gpu_check.py", "--device", "cpu", "--tiny", "--dtype", "bf16", "--families", family,
                         "--images", "2", "--texts", "2", "--rounds", "1", "--json", str(records))
    got = json.loads(records.read_text())
    assert [r["shape"] for r in got] == ["2x2", "2x1", "1x2"], got
    assert all(r["pairs_per_s"] > 0 and r["gflop"] > 0 and r["dtype"] == "torch.bfloat16" for r in got), got
    assert got[0]["gflop"] >= got[1]["gflop"], got
    assert got[-1]["rel_vs_fp32"] < 0.1, got
    return got
