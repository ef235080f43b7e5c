"""The seed-compatible front-end, checked against the example scorer's closed-form scores."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
from PIL import Image
from t2v_example.scorer import example_score

import t2v_core
from t2v_core import ScorerSpec, hookimpl, plugins
from t2v_core.errors import DatasetError, ScoringError, TemplateError
from t2v_core.scorer import PairFailure, Scorer
from t2v_core.store import ScoreStore
from t2v_core.testing import check_scorer

Q = 'Does this figure show "{}"?'


def expected(images, texts, q=Q, a="Yes"):
    return torch.tensor([[example_score(im, q.format(t), a.format(t) if "{}" in a else a) for t in texts]
                         for im in images], dtype=torch.float32)


def test_m_by_n_matches_closed_form(gray_images):
    s = t2v_core.VQAScore(model="example-brightness", device="cpu")
    texts = ["a cat", "two dogs", "x"]
    got = s(images=gray_images, texts=texts)
    assert got.shape == (3, 3) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected(gray_images, texts), rtol=0, atol=1e-7)
    one = s(images=gray_images[1], texts="a cat")
    torch.testing.assert_close(one, expected(gray_images[1:2], ["a cat"]), rtol=0, atol=1e-7)


def test_templates_pass_through_and_visualgptscore(gray_images):
    s = t2v_core.VQAScore(model="example", device="cpu")
    got = s(images=gray_images, texts=["a", "b"], question_template="Is it {}?", answer_template="Sure")
    torch.testing.assert_close(got, expected(gray_images, ["a", "b"], "Is it {}?", "Sure"))
    vgs = s(images=gray_images, texts=["a", "b"], question_template="", answer_template="{}")
    torch.testing.assert_close(vgs, expected(gray_images, ["a", "b"], "", "{}"))
    with pytest.raises(TemplateError, match="question_template"):
        s(images=gray_images, texts=["a"], question_template="{0}")


def test_batch_forward_shape_values_and_batch_size_independence(gray_images):
    s = t2v_core.VQAScore(model="example", device="cpu")
    ds = [{"images": gray_images[:2], "texts": ["a"]}, {"images": gray_images[1:], "texts": ["b"]}]
    out1 = s.batch_forward(ds, batch_size=1)
    out16 = s.batch_forward(ds, batch_size=16)
    assert out1.shape == (2, 2, 1)
    torch.testing.assert_close(out1[0], expected(gray_images[:2], ["a"]))
    torch.testing.assert_close(out1[1], expected(gray_images[1:], ["b"]))
    assert torch.equal(out1, out16)
    assert s.model.batch_size == 3  # restored


@pytest.mark.parametrize("ds,fragment", [
    ([], "non-empty list"),
    ([{"images": ["a.png"]}], "sample 0 has no 'texts'"),
    ([{"images": ["a.png"], "videos": ["b.mp4"], "texts": ["t"]}], "exactly one of"),
    ([{"images": [Image.new("RGB", (2, 2))], "texts": ["t"]},
      {"images": [Image.new("RGB", (2, 2))] * 2, "texts": ["t"]}], "sample 1 has 2 images and 1 texts, but sample 0 has 1"),
    ([{"images": [Image.new("RGB", (2, 2))], "texts": [5]}], "sample 0: text 0 is a int"),
    ([{"images": ["/nonexistent.png"], "texts": ["t"]}], "sample 0: media item 0"),
    (["not a dict"], "sample 0 is a str"),
])
def test_batch_forward_dataset_errors(ds, fragment):
    s = t2v_core.VQAScore(model="example", device="cpu")
    with pytest.raises(DatasetError) as e:
        s.batch_forward(ds)
    assert fragment in str(e.value)


def test_store_resumes_without_recomputing(tmp_path, gray_images, monkeypatch):
    s = t2v_core.VQAScore(model="example", device="cpu")
    calls = []
    real = type(s.model).score_pairs

    def counting(self, media, texts, **kw):
        calls.append(len(texts))
        return real(self, media, texts, **kw)

    monkeypatch.setattr(type(s.model), "score_pairs", counting)
    ds = [{"images": [im], "texts": ["a", "b"]} for im in gray_images]
    db = tmp_path / "s.sqlite"
    first = s.batch_forward(ds[:2], store=db)  # "killed" after two samples
    assert sum(calls) == 4
    calls.clear()
    full = s.batch_forward(ds, store=db)
    assert sum(calls) == 2  # only the third sample is computed
    assert torch.equal(full[:2], first)
    torch.testing.assert_close(full[:, 0, :], expected(gray_images, ["a", "b"]))
    calls.clear()
    s.batch_forward(ds, store=db, question_template="Other {}")  # templates are part of the key
    assert sum(calls) == 6
    with ScoreStore(db) as st:
        assert st.count() == 12
        row = st.rows()[0]
        assert row["model"] == "example-brightness" and row["provenance"]["device"] == "cpu"
        assert row["provenance"]["versions"]["torch"] == torch.__version__


class FlakyScorer(Scorer):
    """Fails on texts containing 'fail' the way a hosted API reports a pair that survived no retry."""

    def score(self, media, texts, *, templates):
        out = torch.zeros(len(media), len(texts))
        for i in range(len(media)):
            for j, t in enumerate(texts):
                if "fail" in t:
                    out[i, j] = float("nan")
                    self.failures.append(PairFailure(i, j, "HTTP 503 after 3 retries", kind="server"))
                else:
                    out[i, j] = 0.25 + 0.5 * (j % 2)
        return out


@pytest.fixture
def flaky():
    mod = types.ModuleType("flaky")

    @hookimpl
    def register_scorers(register):
        register(ScorerSpec(name="flaky", kind="vqa", scorer=f"{__name__}:FlakyScorer"))

    mod.register_scorers = register_scorers
    plugins.register_plugin(mod, name="flaky-plugin")
    yield t2v_core.VQAScore(model="flaky", device="cpu")


def test_failures_are_never_scores(flaky, gray_images, tmp_path):
    with pytest.raises(ScoringError) as e:
        flaky(images=gray_images[:2], texts=["ok", "fail me", "ok2"])
    assert "2 of 6 pairs failed" in str(e.value) and "HTTP 503" in str(e.value)
    assert torch.isnan(e.value.scores[:, 1]).all() and e.value.scores[0, 0] == 0.25
    out = flaky(images=gray_images[:2], texts=["ok", "fail me"], on_error="nan")
    assert math.isnan(out[1, 1]) and len(flaky.failures) == 2
    db = tmp_path / "f.sqlite"
    ds = [{"images": [im], "texts": ["ok", "fail"]} for im in gray_images]
    with pytest.raises(ScoringError) as e2:
        flaky.batch_forward(ds, store=db)
    assert [f.detail["sample"] for f in e2.value.failures] == [0, 1, 2]
    with ScoreStore(db) as st:
        assert st.count() == 3  # the good pairs are kept, the NaNs are not stored


def test_unknown_call_option_is_named(gray_images):
    s = t2v_core.VQAScore(model="example", device="cpu")
    with pytest.raises(TypeError, match=r"unexpected option\(s\) \['num_frame'\].*num_frames"):
        s(images=gray_images, texts=["a"], num_frame=3)


def test_text_validation(gray_images):
    s = t2v_core.VQAScore(model="example", device="cpu")
    with pytest.raises(ValueError, match="text 1 is a int"):
        s(images=gray_images, texts=["a", 1])
    with pytest.raises(ValueError, match="texts is empty"):
        s(images=gray_images, texts=[])
    with pytest.raises(ValueError, match="images is missing"):
        s(texts=["a"])


def test_video_through_the_front_end(video_file):
    s = t2v_core.VQAScore(model="example", device="cpu")
    got = s(videos=[str(video_file)], texts=["a"], num_frames=5)
    clip = t2v_core.media.load_media(str(video_file)).sample(num_frames=5)
    assert abs(float(got[0, 0]) - example_score(clip.frames, Q.format("a"), "Yes")) < 1e-6


def test_generate_and_provenance(gray_images):
    s = t2v_core.VQAScore(model="example", device="cpu")
    assert s.model.generate(images=gray_images[:2], texts=["p", "q"]) == ["10x8: p", "10x8: q"]
    p = s.provenance
    assert p["model"] == "example-brightness" and p["plugin"] == "t2v-example" and p["dtype"] == "float32"
    assert p["default_question_template"] == Q and p["versions"]["t2v-core"] == t2v_core.__version__


def test_device_and_dtype_resolution():
    from t2v_core.device import resolve_device, resolve_dtype

    assert resolve_device("cpu").type == "cpu"
    assert resolve_dtype(None, "cpu") == torch.float32
    assert resolve_dtype(None, "cuda") == torch.bfloat16
    assert resolve_dtype("fp16", "cpu") == torch.float16
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("int3", "cpu")
    s = t2v_core.VQAScore(model="example", device="cpu", dtype="bf16")
    assert s.model.dtype == torch.bfloat16


def test_conformance_kit_on_example_scorers():
    rep = check_scorer(t2v_core.VQAScore(model="example", device="cpu"))
    assert rep["max_pairwise_rel_dev"] == 0.0
    check_scorer(t2v_core.CLIPScore(model="example-clip", device="cpu"))


def test_conformance_kit_catches_a_scorer_that_depends_on_the_batch(gray_images):
    class Leaky(Scorer):
        def score(self, media, texts, *, templates):
            return torch.full((len(media), len(texts)), float(len(media) * len(texts)))

    mod = types.ModuleType("leaky")
    sys_mod = __import__("sys").modules
    sys_mod["t2v_leaky_mod"] = types.ModuleType("t2v_leaky_mod")
    sys_mod["t2v_leaky_mod"].Leaky = Leaky

    @hookimpl
    def register_scorers(register):
        register(ScorerSpec(name="leaky", kind="vqa", scorer="t2v_leaky_mod:Leaky"))

    mod.register_scorers = register_scorers
    plugins.register_plugin(mod, name="leaky")
    with pytest.raises(AssertionError, match="differs from pairwise"):
        check_scorer(t2v_core.VQAScore(model="leaky", device="cpu"), images=gray_images)


def test_numpy_images_of_float_and_uint8_score_alike():
    s = t2v_core.VQAScore(model="example", device="cpu")
    arr = np.random.default_rng(0).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    a = s(images=[arr], texts=["t"])
    b = s(images=[arr.astype(np.float64) / 255.0], texts=["t"])
    assert torch.equal(a, b)


def test_image_only_helpers_for_video(video_file):
    from t2v_core.media import load_media
    from t2v_core.scorer import ImageOnlyMixin

    img = load_media(Image.new("RGB", (4, 4), (9, 9, 9)))
    vid = load_media(str(video_file))
    flat, owners = ImageOnlyMixin.expand_frames([img, vid], num_frames=3)
    assert owners == [0, 1, 1, 1] and flat[0] is img
    scores = torch.tensor([[1.0, 2.0], [3.0, 0.0], [5.0, 0.0], [7.0, 3.0]])
    torch.testing.assert_close(ImageOnlyMixin.mean_by_owner(scores, owners, 2), torch.tensor([[1.0, 2.0], [5.0, 1.0]]))
    wide = ImageOnlyMixin().as_image(vid, num_frames=3, gap=2)
    assert wide.size == (64 * 3 + 2 * 2, 32)


def test_resume_asks_only_for_missing_pairs_and_batches_across_samples(tmp_path, gray_images, monkeypatch):
    s = t2v_core.VQAScore(model="example", device="cpu")
    seen = []
    real = type(s.model).score_groups

    def spy(self, groups, **kw):
        seen.append([(len(m), list(t)) for m, t in groups])
        return real(self, groups, **kw)

    monkeypatch.setattr(type(s.model), "score_groups", spy)
    db = tmp_path / "p.sqlite"
    s.batch_forward([{"images": [gray_images[0]], "texts": ["a"]}], store=db)
    seen.clear()
    ds = [{"images": [im], "texts": ["a", "b"]} for im in gray_images]
    out = s.batch_forward(ds, store=db)
    # one scorer call for the three samples; the first sample only asks for its missing text
    assert seen == [[(1, ["b"]), (1, ["a", "b"]), (1, ["a", "b"])]]
    torch.testing.assert_close(out[:, 0, :], expected(gray_images, ["a", "b"]))


def test_store_key_includes_the_scorers_identity(tmp_path, gray_images):
    db = tmp_path / "i.sqlite"
    ds = [{"images": [gray_images[0]], "texts": ["a"]}]
    t2v_core.VQAScore(model="example", device="cpu").batch_forward(ds, store=db)
    t2v_core.VQAScore(model="example", device="cpu", batch_size=7).batch_forward(ds, store=db)  # runtime option
    with ScoreStore(db) as st:
        assert st.count() == 1
    t2v_core.VQAScore(model="example", device="cpu", dtype="bf16").batch_forward(ds, store=db)
    with ScoreStore(db) as st:
        assert st.count() == 2


def test_offline_hf_cache_switches_and_restores(tmp_path, monkeypatch):
    from t2v_core.testing import make_fake_hf_cache, offline_hf_cache

    hub = pytest.importorskip("huggingface_hub")
    import huggingface_hub.constants as hc
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    make_fake_hf_cache(tmp_path, "org/tiny", {"config.json": "{}"}, commit="abc123")
    before = hc.HF_HUB_CACHE
    with offline_hf_cache(tmp_path):
        path = hub.hf_hub_download("org/tiny", "config.json")
        assert path == str(tmp_path / "models--org--tiny" / "snapshots" / "abc123" / "config.json")
    assert hc.HF_HUB_CACHE == before and "HF_HUB_OFFLINE" not in __import__("os").environ


def test_default_dtype_class_attribute():
    from t2v_example.scorer import BrightnessScorer

    class Fp32Always(BrightnessScorer):
        default_dtype = torch.float32

    s = Fp32Always(spec=t2v_core.registry.get_spec("example"), device="cpu")
    assert s.dtype == torch.float32
    assert Fp32Always(spec=t2v_core.registry.get_spec("example"), device="cpu", dtype="bf16").dtype == torch.bfloat16


def test_progress_bars_on_and_off_give_the_same_scores(gray_images, capsys):
    s = t2v_core.VQAScore(model="example", device="cpu")
    ds = [{"images": [im], "texts": ["a"]} for im in gray_images]
    shown = s.batch_forward(ds, progress=True)
    assert "pair/s" in capsys.readouterr().err  # tqdm drew its bar on stderr
    assert torch.equal(shown, s.batch_forward(ds, progress=False))


def test_notes_follow_their_scores_through_calls_and_the_store(tmp_path, gray_images):
    """A noted score keeps its number and its caveat: on the call, across batch_forward's chunks, and when a
    run resumes from the store (the example scorer notes texts containing '(approx)')."""
    s = t2v_core.VQAScore(model="example", device="cpu", batch_size=2)
    texts = ["a cat", "a dog (approx)", "x"]
    with pytest.warns(t2v_core.ScoreNoteWarning, match=r"3 of 9 scores are not exact values \({'approximate': 3}\)"):
        got = s(images=gray_images, texts=texts)
    torch.testing.assert_close(got, expected(gray_images, texts), rtol=0, atol=1e-7)  # the number stands
    assert sorted((n.media_index, n.text_index, n.kind) for n in s.notes) == [(i, 1, "approximate") for i in range(3)]
    for n in s.notes:
        assert n.detail["value"] == pytest.approx(float(got[n.media_index, n.text_index]))

    ds = [{"images": [im], "texts": texts[1:]} for im in gray_images]
    db = tmp_path / "s.sqlite"
    with pytest.warns(UserWarning, match="not exact"):
        first = s.batch_forward(ds[:2], store=db)
    assert sorted((n.detail["sample"], n.media_index, n.text_index) for n in s.notes) == [(0, 0, 0), (1, 0, 0)]
    assert not any(n.detail.get("stored") for n in s.notes)
    with ScoreStore(db) as st:
        noted = [r for r in st.rows() if r["note"]]
    assert [(r["text"], r["note"]["kind"]) for r in noted] == [("a dog (approx)", "approximate")] * 2
    with pytest.warns(UserWarning, match="not exact"):
        full = s.batch_forward(ds, store=db)  # two samples come from the store, one is computed
    assert torch.equal(full[:2], first)
    by_sample = {n.detail["sample"]: n for n in s.notes}
    assert sorted(by_sample) == [0, 1, 2]
    assert by_sample[0].detail["stored"] and by_sample[1].detail["stored"] and "stored" not in by_sample[2].detail
    assert by_sample[0].message == "the text asks for an approximate score: 'a dog (approx)'"


def test_exact_scores_carry_no_notes(gray_images, recwarn):
    s = t2v_core.VQAScore(model="example", device="cpu")
    s(images=gray_images, texts=["a cat"])
    assert s.notes == [] and not [w for w in recwarn if "not exact" in str(w.message)]


def test_store_written_before_notes_gains_the_column(tmp_path):
    import sqlite3

    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE provenance (id TEXT PRIMARY KEY, json TEXT NOT NULL);
        CREATE TABLE scores (key TEXT PRIMARY KEY, model TEXT NOT NULL, question_template TEXT,
            answer_template TEXT, options TEXT NOT NULL, media_hash TEXT NOT NULL, media_source TEXT,
            text TEXT NOT NULL, score REAL NOT NULL, provenance_id TEXT NOT NULL, created REAL NOT NULL);
        INSERT INTO provenance VALUES ('p', '{}');
        INSERT INTO scores VALUES ('k', 'm', NULL, NULL, '{}', 'h', NULL, 't', 0.25, 'p', 0);
    """)
    con.commit()
    con.close()
    with ScoreStore(db) as st:
        assert st.get_entries(["k"]) == {"k": (0.25, None)}
        st.put_many([{"key": "k2", "model": "m", "media_hash": "h", "text": "u", "score": 0.5,
                      "note": {"kind": "upper_bound", "message": "at most 0.5", "detail": {}}}], "p")
        assert st.get_entries(["k2"])["k2"] == (0.5, {"kind": "upper_bound", "message": "at most 0.5", "detail": {}})
