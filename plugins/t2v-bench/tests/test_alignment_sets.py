"""The VQAScore paper's alignment benchmarks end to end on miniature copies in their published formats."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _bench_helpers import (
    brightness_score,
    brute_acc23,
    clip_score,
    decoded_frames,
    prompt_value,
    solid,
    write_csv,
    write_json,
    write_video,
)
from t2v_bench.base import BenchmarkDataError
from t2v_bench.cli import main
from t2v_bench.runner import run_benchmark

# captions chosen so that example-clip's text features (length, words, e's) differ a lot
CAP_A, CAP_B = "eeeeeeee eeee", "a dog on a mat by a cat"


def _grey(v):
    return (v, v, v)


def _toy_clip_2x2(img0, img1):
    return np.array([[clip_score(img0, CAP_A), clip_score(img0, CAP_B)],
                     [clip_score(img1, CAP_A), clip_score(img1, CAP_B)]])


def _wino_expected(mats):
    """Text, image and group accuracy written out for each item."""
    text = [m[0, 0] > m[0, 1] and m[1, 1] > m[1, 0] for m in mats]
    image = [m[0, 0] > m[1, 0] and m[1, 1] > m[0, 1] for m in mats]
    return np.mean(text), np.mean(image), np.mean([t and i for t, i in zip(text, image)])


# colour pairs: the first points each image along its own caption's text features (cosine 1 with it, 0.76 with
# the other), so every comparison is right for example-clip; the second swaps the images; the third is mixed
PAIRS = [((250, 50, 230), (250, 90, 10)), ((250, 90, 10), (250, 50, 230)), ((200, 200, 10), (10, 200, 200))]


def test_winoground(tmp_path, capsys):
    d = tmp_path / "winoground"
    lines = []
    for k, (c0, c1) in enumerate(PAIRS):
        solid(d / "images" / f"ex_{k}_img_0.png", c0)
        solid(d / "images" / f"ex_{k}_img_1.png", c1)
        lines.append({"id": k, "image_0": f"ex_{k}_img_0", "image_1": f"ex_{k}_img_1", "caption_0": CAP_A,
                      "caption_1": CAP_B, "tag": "Object", "secondary_tag": "", "num_main_preds": 1 + k % 2,
                      "collapsed_tag": "Object" if k < 2 else "Relation"})
    (d / "examples.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    mats = [_toy_clip_2x2(d / "images" / f"ex_{k}_img_0.png", d / "images" / f"ex_{k}_img_1.png") for k in range(3)]
    text, image, group = _wino_expected(mats)
    # the design: item 0 all right, item 1 (swapped) all wrong
    assert _wino_expected(mats[:1]) == (1.0, 1.0, 1.0) and _wino_expected(mats[1:2]) == (0.0, 0.0, 0.0)
    results = tmp_path / "res"
    assert main(["run", "winoground", "--model", "example-clip", "--root", str(tmp_path), "--results",
                 str(results)]) == 0
    assert "winoground: text / image / group accuracy" in capsys.readouterr().out
    rec = json.loads((results / "winoground__example-clip.json").read_text())
    assert (rec["metrics"]["text"], rec["metrics"]["image"], rec["metrics"]["group"]) == (text, image, group)
    subsets = {row[0]: row for row in rec["tables"][0]["rows"]}
    assert subsets["Object"][-1] == 2 and subsets["Relation"][-1] == 1 and "1 Main Pred" in subsets


def test_eqben_mini_brightness_is_never_right(tmp_path):
    # example-brightness scores b(image)/2 + p(text)/2: "image 0 prefers caption 0" needs p0 > p1 and "image 1
    # prefers caption 1" needs p1 > p0, so text accuracy is 0; likewise image accuracy. Group: 0.
    d = tmp_path / "eqben_vllm"
    recs = []
    for k, sub in enumerate(["eqbensd", "eqbenkubric_cnt"]):
        solid(d / "images" / sub / f"{k}_0.png", _grey(30 + 100 * k))
        solid(d / "images" / sub / f"{k}_1.png", _grey(200 - 50 * k))
        recs.append({"image0": f"{sub}/{k}_0.png", "caption0": f"caption {k}", "image1": f"{sub}/{k}_1.png",
                     "caption1": f"other caption {k}"})
    write_json(d / "all_select.json", recs)
    rec = run_benchmark("eqben-mini", "example-brightness", root=tmp_path, results_dir=None)
    assert rec["metrics"] == {"text": 0.0, "image": 0.0, "group": 0.0, "n": 2}
    rows = {r[0]: r for r in rec["tables"][0]["rows"]}
    assert rows["eqbensd"][-1] == 1 and rows["eqbenk"][-1] == 1 and "eqbeny" not in rows


def test_naturalbench_retrieval(tmp_path):
    d = tmp_path / "NaturalBench-Retrieval"
    meta = []
    for k, (c0, c1) in enumerate(PAIRS[:2]):
        solid(d / "images" / f"{k}_0.jpg", c0)
        solid(d / "images" / f"{k}_1.jpg", c1)
        meta.append({"index": k, "image_0": f"{k}_0.jpg", "image_1": f"{k}_1.jpg", "caption_0": CAP_A,
                     "caption_1": CAP_B})
    write_json(d / "metadata.json", meta)
    rec = run_benchmark("naturalbench", "example-clip", root=tmp_path, results_dir=None)  # by alias
    assert rec["benchmark"] == "naturalbench-retrieval"
    # item 0 right in every way, item 1 (swapped images) wrong in every way
    assert (rec["metrics"]["text"], rec["metrics"]["image"], rec["metrics"]["group"]) == (0.5, 0.5, 0.5)


def test_tifa160(tmp_path):
    stats = pytest.importorskip("scipy.stats")
    d = tmp_path / "tifa160"
    meta, rows, ours, human = {}, [], [], []
    ratings = {("coco_1", "mini-dalle"): [1, 2], ("coco_1", "sd1dot5"): [5, 4, 5],
               ("coco_2", "mini-dalle"): [3], ("coco_2", "sd1dot5"): [2, 2]}
    names = {"mini-dalle": "mini_dalle", "sd1dot5": "stable_diffusion_v1_5"}
    for n, ((sid, mt), rs) in enumerate(ratings.items()):
        key = f"{sid}_{names[mt]}"
        text = {"coco_1": "A Christmas tree with lights", "coco_2": "A group of planes"}[sid]
        solid(d / f"{key}.jpg", _grey(40 + 50 * n))
        meta[key] = {"text_id": sid, "image_path": f"{key}.jpg", "text": text}
        rows += [{"item_id": f"{sid}_q", "source_id": sid, "model_type": mt, "answer": r} for r in rs]
        ours.append(brightness_score(d / f"{key}.jpg", text))
        human.append(np.mean(rs))
    write_json(d / "tifa160.json", meta)
    write_csv(d / "dsg_tifa160_anns.csv", rows)
    rec = run_benchmark("tifa160", "example-brightness", root=tmp_path, results_dir=None)
    m = rec["metrics"]
    assert m["pearson"] == pytest.approx(np.corrcoef(human, ours)[0, 1], abs=1e-6)
    assert m["kendall_tau_b"] == pytest.approx(stats.kendalltau(human, ours)[0], abs=1e-9)
    assert m["pairwise_acc"] == pytest.approx(brute_acc23(human, ours), abs=1e-9)
    assert m["n"] == 4


def test_pickapic_v1(tmp_path, capsys):
    d = tmp_path / "pickapic_v1"
    # same caption for both images, so example-brightness prefers the brighter image
    items = [(1, 220, 30, 1.0), (2, 220, 30, 0.0), (3, 30, 220, 0.5)]
    recs = []
    for i, b0, b1, lab in items:
        solid(d / "images" / f"{i}_0.png", _grey(b0))
        solid(d / "images" / f"{i}_1.png", _grey(b1))
        recs.append({"id": i, "caption": "a cat", "image_0": f"images/{i}_0.png", "image_1": f"images/{i}_1.png",
                     "label_0": lab, "label_1": 1 - lab})
    write_json(d / "test_captions.json", recs)
    # predictions 0, 0, 1; labels 0, 1, and 1 (a 0.5/0.5 tie counts as image 1, as in the reference): 2 of 3
    rec = run_benchmark("pickapic-v1", "example-brightness", root=tmp_path, options={"subset": "all"},
                        results_dir=None)
    assert rec["metrics"]["accuracy"] == pytest.approx(2 / 3)
    assert main(["run", "pickapic-v1", "--model", "example-brightness", "--root", str(tmp_path)]) == 1
    assert "subset=all" in capsys.readouterr().err  # the paper's 100 ids are not all in the mini copy


def test_seetrue(tmp_path):
    d = tmp_path / "seetrue"
    rows, ours = [], []
    spec = [("drawbench", 200, 1), ("drawbench", 20, 0), ("drawbench", 120, 1), ("coco_t2i", 90, 0),
            ("coco_t2i", 100, 1), ("coco_t2i", 250, 0)]
    for n, (src, v, lab) in enumerate(spec):
        solid(d / "images" / f"{n}.png", _grey(v))
        rows.append({"image": f"{n}.png", "text": "a photo", "label": lab, "original_split": "test",
                     "dataset_source": src})
        ours.append(brightness_score(d / "images" / f"{n}.png", "a photo"))
    write_csv(d / "SeeTRUE.csv", rows)
    rec = run_benchmark("seetrue", "example-brightness", root=tmp_path, results_dir=None)
    # same text everywhere: the score orders by brightness. drawbench: positives 200, 120 above the negative 20 ->
    # AUROC 1; coco_t2i: the positive 100 beats the negative 90 but not 250 -> 0.5
    assert rec["metrics"]["drawbench/auroc"] == 1.0
    assert rec["metrics"]["coco_t2i/auroc"] == 0.5
    pos = [s for s, (_, _, lab) in zip(ours, spec) if lab]
    neg = [s for s, (_, _, lab) in zip(ours, spec) if not lab]
    assert rec["metrics"]["auroc"] == pytest.approx(np.mean([(p > q) + 0.5 * (p == q) for p in pos for q in neg]))


def test_stanfordt23d_view_grid(tmp_path):
    d = tmp_path / "stanfordt23d"
    views = [2, 15, 28, 41, 54, 67, 80, 93, 106]
    ann, ours, human = {}, [], []
    ratings = {"0": {"dreamfusion": [2, 2, 2], "mvdream": [5, 4, 5], "shap-e": [1, 1, 1]},
               "7": {"dreamfusion": [3, 4, 4], "mvdream": [1, 2, 2]}}
    prompts = {"0": "A torn hat", "7": "A sleeping cat"}
    for pid, models in ratings.items():
        ann[pid] = {"prompt": prompts[pid], "models": models}
    for m in ("dreamfusion", "mvdream"):
        for pid in ratings:
            for k, v in enumerate(views):
                solid(d / m / pid / "0" / f"rgb_{v}.jpg", _grey((17 * k + 60 * len(m) + 31 * int(pid)) % 256), (6, 4))
    write_json(d / "stanfordt23d.json", ann)
    from PIL import Image

    for m in ("dreamfusion", "mvdream"):
        for pid in ratings:
            # the 3x3 grid's mean brightness is the mean of its nine equal-size views
            b = np.mean([np.asarray(Image.open(d / m / pid / "0" / f"rgb_{v}.jpg").convert("RGB"), float).mean()
                         for v in views]) / 255.0
            ours.append(0.5 * b + 0.5 * prompt_value(prompts[pid]))
            human.append(np.mean(ratings[pid][m]))
    rec = run_benchmark("stanfordt23d", "example-brightness", root=tmp_path, results_dir=None,
                        options={"models": "dreamfusion,mvdream"})
    assert rec["metrics"]["n"] == 4  # shap-e is not asked for
    assert rec["metrics"]["pearson"] == pytest.approx(np.corrcoef(human, ours)[0, 1], abs=1e-5)
    assert rec["metrics"]["pairwise_acc"] == pytest.approx(brute_acc23(human, ours), abs=1e-9)
    items = rec["items"]
    assert [it["score"] for it in items] == pytest.approx(ours, abs=1e-5)


def test_t2vscore_frames(tmp_path):
    d = tmp_path / "t2vscore"
    ratings = {"1": {"gen2": [3, 3], "pika": [1, 2]}, "2": {"gen2": [4, 5], "pika": [5, 5]}}
    prompts = {"1": "a rocket launch", "2": "waves at sunset"}
    write_json(d / "t2vscore_alignment_score.json", {p: {"prompt": prompts[p], "models": r}
                                                     for p, r in ratings.items()})
    levels = {("gen2", "1"): [10, 240, 30], ("gen2", "2"): [100], ("pika", "1"): [80, 90], ("pika", "2"): [5, 5, 200]}
    paths = {k: write_video(d / k[0] / f"{int(k[1]):04d}.mp4", lv) for k, lv in levels.items()}
    rec = run_benchmark("t2vscore", "example-brightness", root=tmp_path, results_dir=None,
                        options={"models": ["gen2", "pika"], "num_frames": 2})
    ours, human = [], []
    for m in ("gen2", "pika"):
        for pid in ("1", "2"):
            frames = decoded_frames(paths[(m, pid)])[:2]
            frames += [frames[-1]] * (2 - len(frames))
            ours.append(np.mean([brightness_score(f, prompts[pid]) for f in frames]))
            human.append(np.mean(ratings[pid][m]))
    assert [it["score"] for it in rec["items"]] == pytest.approx(ours, abs=1e-6)
    assert rec["metrics"]["spearman"] == pytest.approx(
        np.corrcoef(np.argsort(np.argsort(human)), np.argsort(np.argsort(ours)))[0, 1])  # no ties here


def test_flickr8k_cf(tmp_path):
    stats = pytest.importorskip("scipy.stats")
    d = tmp_path / "flickr8k"
    data = {
        "img1.jpg": {"image_path": "Flicker8k_Dataset/img1.jpg", "ground_truth": ["a dog runs"],
                     "human_judgement": [{"caption": "A dog is running .", "rating": 4.0},
                                         {"caption": "a  cat  sleeps", "rating": 1.0}]},
        "img2.jpg": {"image_path": "Flicker8k_Dataset/img2.jpg", "ground_truth": ["two kids"],
                     "human_judgement": [{"caption": "two kids playing.", "rating": 3.0}]},
    }
    solid(d / "Flicker8k_Dataset" / "img1.jpg", _grey(180))
    solid(d / "Flicker8k_Dataset" / "img2.jpg", _grey(60))
    write_json(d / "crowdflower_flickr8k.json", data)
    rec = run_benchmark("flickr8k-cf", "example-brightness", root=tmp_path, results_dir=None,
                        options={"sample_rate": 1.0})
    # captions are whitespace-normalised and stripped of the final '.' and spaces, as in the reference
    assert [it["caption"] for it in rec["items"]] == ["A dog is running", "a cat sleeps", "two kids playing"]
    ours = [brightness_score(d / "Flicker8k_Dataset" / f, c) for f, c in
            [("img1.jpg", "A dog is running"), ("img1.jpg", "a cat sleeps"), ("img2.jpg", "two kids playing")]]
    human = [4.0, 1.0, 3.0]
    assert rec["metrics"]["kendall_tau_b"] == pytest.approx(stats.kendalltau(human, ours)[0], abs=1e-9)
    assert rec["metrics"]["pearson"] == pytest.approx(np.corrcoef(human, ours)[0, 1], abs=1e-6)


@pytest.mark.parametrize("name,what", [
    ("winoground", "examples.jsonl"), ("eqben-mini", "all_select.json"), ("naturalbench-retrieval", "metadata.json"),
    ("tifa160", "tifa160.json"), ("pickapic-v1", "test_captions.json"), ("seetrue", "SeeTRUE.csv"),
    ("stanfordt23d", "stanfordt23d.json"), ("t2vscore", "t2vscore_alignment_score.json"),
    ("flickr8k-cf", "crowdflower_flickr8k.json"), ("genai-rank", "human_rating.json"),
    ("genai-bench-video", "genai_video.json")])
def test_missing_files_name_the_download(name, what, tmp_path):
    from t2v_bench.runner import load_benchmark

    with pytest.raises(BenchmarkDataError) as e:
        load_benchmark(name, root=tmp_path).samples()
    assert what in str(e.value) and "ROOT/" in str(e.value)
