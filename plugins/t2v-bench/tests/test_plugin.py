"""Registration through the installed entry point, light imports, third-party benchmarks, the generate
command's optional dependency, and the Python API."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import numpy as np
import pytest
from _bench_helpers import GENAI_PROMPTS, solid
from t2v_bench.cli import main

BUILTIN = {"genai-bench-image", "genai-bench-video", "genai-rank", "winoground", "eqben-mini",
           "naturalbench-retrieval", "tifa160", "pickapic-v1", "seetrue", "stanfordt23d", "t2vscore", "flickr8k-cf",
           "camerabench-binary", "camerabench-vqa", "camerabench-retrieval", "camerabench-caption"}


def test_entry_point_registers_every_benchmark():
    from t2v_core import registry

    specs = registry.benchmarks().specs
    assert BUILTIN <= set(specs)
    assert {specs[n].plugin for n in BUILTIN} == {"t2v-bench"}
    assert registry.get_benchmark("genai-bench").name == "genai-bench-image"  # alias
    for name in BUILTIN:  # every loader resolves without touching any data
        assert callable(specs[name].load())


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_bench.cli as c; c.main(['list']); "
            "print(sorted(m for m in ('torch', 'numpy', 'matplotlib', 'PIL', 'diffusers', 't2v_bench.datasets') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert BUILTIN <= {d["name"] for d in data}
    assert main(["--help"]) == 0 and main([]) == 2


def test_third_party_benchmark(tmp_path, capsys):
    """A plugin registers its own benchmark through the same hook and the runner scores it."""
    from t2v_bench.base import BenchResult, Sample

    from t2v_core import BenchmarkSpec, hookimpl, plugins

    img = solid(tmp_path / "x.png", (255, 255, 255))

    class Tiny:
        name = "tiny"

        def __init__(self, root=None, **options):
            self.options = options

        def samples(self):
            return [Sample([str(img)], ["a", "bb"])]

        def evaluate(self, scores):
            return BenchResult(metrics={"best": int(np.argmax(scores[0][0]))})

    mod = types.ModuleType("tiny_bench_plugin")
    mod.Tiny = Tiny

    @hookimpl
    def register_benchmarks(register):
        register(BenchmarkSpec(name="tiny-bench", loader="tiny_bench_plugin:Tiny", description="a test benchmark"))

    mod.register_benchmarks = register_benchmarks
    sys.modules["tiny_bench_plugin"] = mod
    plugins.register_plugin(mod, name="tiny-bench-plugin")
    try:
        assert main(["list"]) == 0
        assert "tiny-bench" in capsys.readouterr().out
        assert main(["run", "tiny-bench", "--model", "example-clip", "--results", str(tmp_path / "r")]) == 0
        rec = json.loads((tmp_path / "r" / "tiny-bench__example-clip.json").read_text())
        # example-clip on a white image: text features (2, 2, 1) for "a", (3, 2, 1) for "bb" -> "a" is closer
        assert rec["metrics"] == {"best": 0}
    finally:
        plugins.unregister_plugin("tiny-bench-plugin")
        del sys.modules["tiny_bench_plugin"]


def test_generate_without_diffusers_says_how_to_install(genai_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # as if not installed
    assert main(["generate", "--gen-model", "org/model", "--root", str(genai_root), "--out", str(tmp_path)]) == 1
    assert "pip install 't2v-bench[generate]'" in capsys.readouterr().err


def test_generate_images_layout_with_a_fake_pipeline(tmp_path):
    """Not the real diffusers (not installed here): checks the folder layout, seeding and resuming."""
    from PIL import Image
    from t2v_bench.generate import generate_images

    calls = []

    class FakePipe:
        def __call__(self, prompt, num_inference_steps, guidance_scale, generator, negative_prompt):
            calls.append(prompt)
            v = int(generator.initial_seed()) % 256
            return types.SimpleNamespace(images=[Image.new("RGB", (8, 8), (v, v, v))])

    folder = tmp_path / "outputs" / "org" / "model"
    written = generate_images(FakePipe(), dict(list(GENAI_PROMPTS.items())[:2]), folder, seed=10)
    assert [p.name for p in written] == ["00000.jpeg", "00001.jpeg"] and calls == list(GENAI_PROMPTS.values())[:2]
    assert generate_images(FakePipe(), GENAI_PROMPTS, folder) == [folder / "00002.jpeg"]  # the others are kept


def test_generated_org_model_folders_are_found(genai_root, tmp_path):
    """`generate --gen-model org/model` writes <out>/org/model/: discovery looks one level deeper."""
    from t2v_bench.runner import run_benchmark

    out = tmp_path / "outputs"
    for k in GENAI_PROMPTS:
        solid(out / "org" / "model" / f"{k}.jpeg", (90, 90, 90))
    rec = run_benchmark("genai-bench-image", "example-brightness", root=genai_root, options={"out": str(out)},
                        results_dir=tmp_path / "res")
    assert rec["gen_models"] == ["org/model"]
    assert (tmp_path / "res" / "genai-bench-image__example-brightness.json").exists()


def test_python_api_with_a_built_scorer_and_templates(genai_root, genai_outputs, tmp_path):
    from t2v_bench import run_benchmark

    import t2v_core

    scorer = t2v_core.VQAScore(model="example-brightness", device="cpu")
    rec = run_benchmark("genai-bench-image", scorer, root=genai_root, options={"out": str(genai_outputs),
                        "gen_models": ["gen-a"]}, results_dir=None, question_template="Is it {}?",
                        answer_template="Yes")
    import zlib

    from PIL import Image
    expected = []
    for k, p in GENAI_PROMPTS.items():
        b = np.asarray(Image.open(genai_outputs / "gen-a" / f"{k}.jpeg").convert("RGB"), float).mean() / 255
        expected.append(0.5 * b + 0.5 * (zlib.crc32(f"Is it {p}?\x00Yes".encode()) % 1000) / 1000)
    assert [it["score"] for it in rec["items"]] == pytest.approx(expected, abs=1e-6)
    assert rec["question_template"] == "Is it {}?" and rec["provenance"]["model"] == "example-brightness"


def test_download_from_the_hub_unzips(tmp_path, monkeypatch):
    """--download: snapshot_download (faked here: no test touches the network) then archives are unzipped."""
    import zipfile

    import huggingface_hub
    from t2v_bench.runner import run_benchmark

    seen = {}

    def fake_snapshot_download(repo_id, repo_type, local_dir, allow_patterns):
        seen.update(repo_id=repo_id, repo_type=repo_type, patterns=allow_patterns)
        from pathlib import Path

        d = Path(local_dir)
        d.mkdir(parents=True, exist_ok=True)
        (d / "SeeTRUE.csv").write_text("image,text,label,dataset_source\na.png,a cat,1,drawbench\nb.png,a cat,0,drawbench\n")
        solid(tmp_path / "a.png", (200, 200, 200))
        solid(tmp_path / "b.png", (20, 20, 20))
        with zipfile.ZipFile(d / "images.zip", "w") as z:
            z.write(tmp_path / "a.png", "images/a.png")
            z.write(tmp_path / "b.png", "images/b.png")
        return str(d)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    rec = run_benchmark("seetrue", "example-brightness", root=tmp_path / "data", download=True, results_dir=None)
    assert seen == {"repo_id": "yonatanbitton/SeeTRUE", "repo_type": "dataset", "patterns": ["SeeTRUE.csv", "images.zip"]}
    assert (tmp_path / "data" / "seetrue" / "images" / "a.png").exists()
    assert rec["metrics"]["auroc"] == 1.0  # same text: the brighter (aligned) image scores higher


def test_core_cli_dispatches_to_bench(capsys):
    from t2v_core.cli import main as t2v_main

    assert t2v_main(["bench", "list"]) == 0
    assert "genai-bench-image" in capsys.readouterr().out


def test_report_without_matplotlib_draws_plain_svg(monkeypatch):
    from t2v_bench.report import html_report

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    rec = {"benchmark": "genai-bench-image", "model": "m", "metrics": {"g/all": 0.5, "human/pearson": None},
           "tables": [], "skills": {"g": {"basic": {"mean": 0.4, "std": 0.1, "n": 2}, "all": {"mean": 0.5}}}}
    html = html_report([rec])
    assert "<svg" in html and "<rect" in html and "m / g basic: 0.4000" in html and "n/a" in html


def test_score_samples_mixed_shapes_across_chunks(tmp_path):
    """Samples of different shapes are scored in separate chunks and come back in their own order."""
    from _bench_helpers import brightness_score
    from t2v_bench.base import Sample
    from t2v_bench.runner import score_samples

    import t2v_core

    imgs = [solid(tmp_path / f"{v}.png", (v, v, v)) for v in (10, 80, 160, 240)]
    samples = [Sample([str(imgs[0])], ["a"]), Sample([str(imgs[1]), lambda: str(imgs[2])], ["b"]),
               Sample([str(imgs[3])], ["c", "d"]), Sample([str(imgs[2])], ["a"]), Sample([str(imgs[1])], ["f"]),
               Sample([str(imgs[3])], ["a"])]
    expected = [[[brightness_score(imgs[0], "a")]],
                [[brightness_score(imgs[1], "b")], [brightness_score(imgs[2], "b")]],
                [[brightness_score(imgs[3], "c"), brightness_score(imgs[3], "d")]],
                [[brightness_score(imgs[2], "a")]], [[brightness_score(imgs[1], "f")]],
                [[brightness_score(imgs[3], "a")]]]
    scorer = t2v_core.get_score_model("example-brightness", device="cpu")
    calls = []
    real_score = scorer.model.score

    def spy(media, texts, **kw):
        calls.append((len(media), len(texts)))
        return real_score(media, texts, **kw)

    scorer.model.score = spy
    for chunk, merge, n_calls in ((1, 64, 4), (1, 2, 5), (8, 1, 6)):
        calls.clear()
        store = t2v_core.ScoreStore(tmp_path / f"s{chunk}{merge}.sqlite")
        out = score_samples(scorer, samples, chunk=chunk, merge_media=merge, store=store)
        for got, exp in zip(out, expected):
            assert got.shape == np.asarray(exp).shape
            assert np.allclose(got, exp, atol=1e-6)
        # the three samples about "a" reach the scorer together unless merging is capped
        assert len(calls) == n_calls, calls
        # a rerun with the same store scores nothing
        calls.clear()
        assert all(np.allclose(a, b) for a, b in zip(score_samples(scorer, samples, store=store), out))
        assert calls == []


def test_generate_command_with_a_fake_diffusers(genai_root, tmp_path, monkeypatch, capsys):
    """The command's wiring (prompts, folder, --limit, the follow-up hint); diffusers itself is faked."""
    from PIL import Image

    loaded = {}

    class FakePipe:
        def to(self, device):
            loaded["device"] = device
            return self

        def __call__(self, prompt, **kw):
            return types.SimpleNamespace(images=[Image.new("RGB", (8, 8), (1, 2, 3))])

    class AutoPipelineForText2Image:
        @staticmethod
        def from_pretrained(name, torch_dtype):
            loaded["name"] = name
            return FakePipe()

    monkeypatch.setitem(sys.modules, "diffusers", types.SimpleNamespace(AutoPipelineForText2Image=AutoPipelineForText2Image))
    out = tmp_path / "outputs"
    assert main(["generate", "--gen-model", "org/sd", "--root", str(genai_root), "--out", str(out), "--limit", "2",
                 "--device", "cpu"]) == 0
    assert loaded == {"name": "org/sd", "device": "cpu"}
    assert sorted(p.name for p in (out / "org" / "sd").iterdir()) == ["00000.jpeg", "00001.jpeg"]
    assert "t2v bench run genai-bench-image" in capsys.readouterr().out


def test_t2v_bench_is_a_subcommand_registered_through_the_hook(capsys):
    """The core finds `t2v bench` through register_commands, never by importing t2v_bench by name."""
    from t2v_core import registry
    from t2v_core.cli import main as t2v_main

    spec = registry.commands().get("bench")
    assert spec.plugin == "t2v-bench" and spec.main == "t2v_bench.cli:main"
    assert t2v_main(["bench", "list"]) == 0
    assert "genai-bench-image" in capsys.readouterr().out
