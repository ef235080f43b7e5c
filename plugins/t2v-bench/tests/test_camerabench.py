"""CameraBench binary / VQA / retrieval end to end on a miniature copy in the reference's file formats, with
metric values computed here from the toy scorers' closed forms."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import numpy as np
import pytest
from _camera_helpers import (
    BINARY,
    QUESTION,
    example_score,
    pair_rows,
    product_score,
    write_camerabench,
)
from t2v_bench.cli import main
from t2v_bench.runner import run_benchmark


@pytest.fixture
def cam(tmp_path):
    """camerabench/data/ of the reference (annotations + videos), under tmp_path/camerabench."""
    return write_camerabench(tmp_path / "camerabench" / "data")


@pytest.fixture
def camera_product():
    import _camera_scorer

    from t2v_core import plugins

    plugins.register_plugin(_camera_scorer, name="camera-product-plugin")
    try:
        yield "camera-product"
    finally:
        plugins.unregister_plugin("camera-product-plugin")


def _ap_by_hand(labels, scores):
    """Mean over the positives of the precision at their rank (scores are distinct here)."""
    order = np.argsort(-np.asarray(scores))
    y = np.asarray(labels)[order]
    hits = np.cumsum(y)
    return float(np.mean([hits[r] / (r + 1) for r in range(len(y)) if y[r] == 1]))


def _auc_by_hand(labels, scores):
    pos = [s for s, y in zip(scores, labels) if y == 1]
    neg = [s for s, y in zip(scores, labels) if y == 0]
    return float(np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg]))


def _split_metrics(videos_dir, score=example_score):
    out = {}
    for split, rows in BINARY.items():
        labels = [int(lab == "Yes") for _, _, lab in rows]
        scores = [score(v, q, "Yes", videos_dir) for v, q, _ in rows]
        out[split] = (labels, scores)
    return out


# ------------------------------------------------------------------------------------------------ binary


def test_binary_end_to_end(cam, tmp_path, capsys):
    results = tmp_path / "results"
    # --root is the camerabench folder: its data/ is found
    assert main(["run", "camerabench-binary", "--model", "example-brightness", "--root", str(cam.parent),
                 "--results", str(results)]) == 0
    printed = capsys.readouterr().out
    assert "average precision and ROC-AUC per split" in printed and "one class: 0.0 (the reference's rule)" in printed
    rec = json.loads((results / "camerabench-binary__example-brightness.json").read_text())
    assert rec["question_template"] == QUESTION
    per = _split_metrics(cam / "videos")
    for split in ("Move_Down", "Static"):
        labels, scores = per[split]
        assert rec["metrics"][f"{split}/ap"] == pytest.approx(_ap_by_hand(labels, scores), abs=1e-9)
        assert rec["metrics"][f"{split}/roc_auc"] == pytest.approx(_auc_by_hand(labels, scores), abs=1e-9)
    # Zoom_In has only "Yes" rows: AP = ROC-AUC = 0.0, counted in the mean (the reference's rule)
    assert rec["metrics"]["Zoom_In/ap"] == 0.0 and rec["metrics"]["Zoom_In/roc_auc"] == 0.0
    aps = [_ap_by_hand(*per["Move_Down"]), _ap_by_hand(*per["Static"]), 0.0]
    assert rec["metrics"]["mean_ap"] == pytest.approx(np.mean(aps), abs=1e-9)
    assert rec["metrics"]["std_ap"] == pytest.approx(np.std(aps), abs=1e-9)  # population std, as the reference
    assert rec["metrics"]["splits_evaluated"] == 3 and rec["metrics"]["failed_rows"] == 0
    # every row's score is in the items (and the CSV), with the reference's template filled in
    items = rec["items"]
    assert len(items) == sum(len(r) for r in BINARY.values())
    for it in items:
        assert it["score"] == pytest.approx(example_score(it["video"], it["question"], "Yes", cam / "videos"), abs=1e-6)
        assert it["error"] is None
    # one sample per video (every question about it in one call): 5 videos, 10 pairs in the store
    assert rec["num_samples"] == 5
    with sqlite3.connect(results / "scores.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 10
    html = (results / "report.html").read_text()
    assert "camerabench-binary: AP per split" in html and "<svg" in html


def test_binary_one_class_skip_and_split_choice(cam):
    rec = run_benchmark("camerabench-binary", "example-brightness", root=cam, results_dir=None,
                        options={"one_class": "skip", "splits": "Move_Down,Zoom_In"})
    labels, scores = _split_metrics(cam / "videos")["Move_Down"]
    assert rec["metrics"]["Zoom_In/ap"] is None and rec["metrics"]["splits_evaluated"] == 1
    assert rec["metrics"]["mean_ap"] == pytest.approx(_ap_by_hand(labels, scores), abs=1e-9)
    assert rec["metrics"]["std_ap"] == 0.0
    assert "Static/ap" not in rec["metrics"]
    with pytest.raises(Exception, match=r"split\(s\) \['Nope'\] not in"):
        run_benchmark("camerabench-binary", "example-brightness", root=cam, results_dir=None,
                      options={"splits": ["Nope"]})
    with pytest.raises(ValueError, match="one_class must be"):
        run_benchmark("camerabench-binary", "example-brightness", root=cam, results_dir=None,
                      options={"one_class": "drop"})


def test_binary_failed_rows_are_reported_not_scored(cam, tmp_path, capsys):
    """An undecodable video fails its own rows: they are listed with the error, left out of the metrics,
    never stored, and never scored 0.0; the rest of the run is scored."""
    (cam / "videos" / "d.4.mp4").write_bytes(b"not a video at all" * 10)
    results = tmp_path / "r"
    with pytest.warns(UserWarning, match=r"2 pair\(s\) of 1 sample\(s\) could not be scored"):
        assert main(["run", "camerabench-binary", "--model", "example-brightness", "--root", str(cam),
                     "--results", str(results)]) == 0
    printed = capsys.readouterr().out
    assert "2 pair(s) could not be scored" in printed
    rec = json.loads((results / "camerabench-binary__example-brightness.json").read_text())
    failed = [it for it in rec["items"] if it["error"]]
    assert {(it["split"], it["video"]) for it in failed} == {("Move_Down", "d.4.mp4"), ("Static", "d.4.mp4")}
    assert all(it["score"] is None and "d.4.mp4" in it["error"] for it in failed)
    assert rec["metrics"]["failed_rows"] == 2
    keep = [i for i, (v, _, _) in enumerate(BINARY["Move_Down"]) if v != "d.4.mp4"]
    labels = [int(BINARY["Move_Down"][i][2] == "Yes") for i in keep]
    scores = [example_score(BINARY["Move_Down"][i][0], BINARY["Move_Down"][i][1], "Yes", cam / "videos")
              for i in keep]
    assert rec["metrics"]["Move_Down/ap"] == pytest.approx(_ap_by_hand(labels, scores), abs=1e-9)
    assert {f["kind"] for f in rec["failures"]} == {"media"}
    with sqlite3.connect(results / "scores.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 8  # the failed pairs are not stored


def test_missing_videos_and_files_say_what_to_download(cam, tmp_path, capsys):
    (cam / "videos" / "e.5.mp4").unlink()
    assert main(["run", "camerabench-binary", "--model", "example-brightness", "--root", str(cam),
                 "--results", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "1 of 5 video(s) not found" in err and "e.5.mp4" in err and "syCen/Videos4CameraBench" in err
    assert "ROOT/videos" in err and "Traceback" not in err
    # allow_missing: the rows of the missing video are failed rows, the others are scored
    rec = run_benchmark("camerabench-binary", "example-brightness", root=cam, results_dir=None,
                        options={"allow_missing": True})
    failed = [it for it in rec["items"] if it["error"]]
    assert len(failed) == 2 and all("video file not found" in it["error"] for it in failed)
    assert main(["run", "camerabench-vqa", "--model", "example-brightness", "--root", str(tmp_path / "nothing"),
                 "--results", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "vqa_and_retrieval not found" in err and "linzhiqiu/t2v_metrics" in err


def test_video_dir_option_and_nested_snapshot_layout(cam, tmp_path):
    """Videos at ROOT/videos/videos/ (a snapshot keeping the dataset's videos/ folder) or under video_dir."""
    nested = cam / "videos" / "videos"
    nested.mkdir()
    for p in list((cam / "videos").glob("*.mp4")):
        p.rename(nested / p.name)
    rec = run_benchmark("camerabench-binary", "example-brightness", root=cam, results_dir=None)
    assert rec["metrics"]["failed_rows"] == 0
    moved = tmp_path / "elsewhere"
    nested.rename(moved)
    rec2 = run_benchmark("camerabench-binary", "example-brightness", root=cam, results_dir=None,
                         options={"video_dir": str(moved)})
    assert rec2["metrics"] == rec["metrics"]


def test_kind_and_answer_are_checked(cam, tmp_path, capsys):
    assert main(["run", "camerabench-binary", "--model", "example-clip", "--root", str(cam),
                 "--results", str(tmp_path / "r")]) == 1
    assert "needs a vqa scorer" in capsys.readouterr().err
    assert main(["run", "camerabench-vqa", "--model", "example-brightness", "--root", str(cam), "--answer", "Yes",
                 "--results", str(tmp_path / "r")]) == 1
    assert "answers ['Yes', 'No']" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ VQA / retrieval


def _cells(score, videos_dir, answer):
    """Per row: [video i][question j] scores (0 = positive) with one answer."""
    return [np.array([[score(v, q, answer, videos_dir) for q in (pq, nq)] for v in (p, n)])
            for _, _, p, n, pq, nq in pair_rows()]


def _vqa_by_hand(yes, no):
    right = questions = 0
    for y, n in zip(yes, no):
        cell = {(i, j): bool(y[i, j] > n[i, j]) if i == j else bool(n[i, j] > y[i, j])
                for i in (0, 1) for j in (0, 1)}
        right += sum(cell.values())
        questions += int(cell[0, 0] and cell[1, 0]) + int(cell[0, 1] and cell[1, 1])
    return right / (4 * len(yes)), questions / (2 * len(yes))


def _wino_by_hand(yes):
    text = [y[0, 0] > y[0, 1] and y[1, 1] > y[1, 0] for y in yes]  # each video prefers its own question
    image = [y[0, 0] > y[1, 0] and y[1, 1] > y[0, 1] for y in yes]  # each question prefers its own video
    return np.mean(text), np.mean(image), np.mean([a and b for a, b in zip(text, image)])


def test_vqa_and_retrieval_end_to_end(cam, tmp_path, camera_product):
    videos = cam / "videos"
    results = tmp_path / "results"
    assert main(["run", "camerabench-vqa", "--model", camera_product, "--root", str(cam),
                 "--results", str(results)]) == 0
    rec = json.loads((results / "camerabench-vqa__camera-product.json").read_text())
    assert rec["answer_templates"] == ["Yes", "No"]
    yes, no = _cells(product_score, videos, "Yes"), _cells(product_score, videos, "No")
    rows = pair_rows()
    skill_of = [r[0] for r in rows]
    per_skill = {}
    for skill in dict.fromkeys(skill_of):
        idx = [i for i, s in enumerate(skill_of) if s == skill]
        per_skill[skill] = _vqa_by_hand([yes[i] for i in idx], [no[i] for i in idx])
        assert rec["metrics"][f"{skill}/binary_acc"] == pytest.approx(per_skill[skill][0])
        assert rec["metrics"][f"{skill}/question_acc"] == pytest.approx(per_skill[skill][1])
    binaries = [v[0] for v in per_skill.values()]
    assert rec["metrics"]["mean_binary_acc"] == pytest.approx(np.mean(binaries))
    assert rec["metrics"]["std_binary_acc"] == pytest.approx(np.std(binaries))
    # the metrics are not trivial on this data (the test would not notice swapped cells otherwise)
    assert 0 < np.mean(binaries) < 1
    # per-row cells are in the items, named as in the reference's score files
    first = rec["items"][0]
    assert first["yes_pos_text_neg_image"] == pytest.approx(yes[0][1, 0], abs=1e-6)
    assert first["no_neg_text_pos_image"] == pytest.approx(no[0][0, 1], abs=1e-6)
    # the row without pos_question / neg_question is asked its pos_text / neg_text
    assert rec["items"][0]["pos_question"] == "Does the camera zoom in?"

    # retrieval reuses the "Yes" scores from the store: nothing is scored again
    with sqlite3.connect(results / "scores.sqlite") as db:
        stored = db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    rec2 = run_benchmark("camerabench-retrieval", camera_product, root=cam, results_dir=results,
                         options={"group_by": "task"})
    with sqlite3.connect(results / "scores.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == stored
    tasks = [(r[0], r[1]) for r in rows]
    per_task = []
    for key in dict.fromkeys(tasks):
        idx = [i for i, t in enumerate(tasks) if t == key]
        per_task.append(_wino_by_hand([yes[i] for i in idx]))
    for k, name in enumerate(("text", "image", "group")):
        assert rec2["metrics"][f"mean_{name}"] == pytest.approx(np.mean([t[k] for t in per_task]))
        assert rec2["metrics"][f"std_{name}"] == pytest.approx(np.std([t[k] for t in per_task]))
    assert rec2["metrics"]["units_evaluated"] == 3
    assert any(t[0] > 0 for t in per_task) or any(t[1] > 0 for t in per_task)
    from t2v_bench.report import write_report

    html = write_report(results)["html"].read_text()
    assert "camerabench-vqa: per skill" in html and "camerabench-retrieval: per skill" in html


def test_vqa_decodes_each_video_once_and_resumes(cam, tmp_path, monkeypatch):
    """Two answers x every question of a video, and each video's frames are decoded once; a rerun reads every
    pair from the store and decodes nothing."""
    from t2v_core.media import Video

    decoded = Counter()
    real = Video.frames

    def counting(self, indices):
        decoded[self.source.rsplit("/", 1)[-1]] += 1
        return real(self, indices)

    monkeypatch.setattr(Video, "frames", counting)
    results = tmp_path / "r"
    rec = run_benchmark("camerabench-vqa", "example-brightness", root=cam, results_dir=results)
    assert set(decoded) == {"a.1.mp4", "b.2.mp4", "c.3.mp4", "d.4.mp4", "e.5.mp4"}
    assert set(decoded.values()) == {1}
    # example-brightness is additive, so yes-vs-no is decided by the question alone: one of the two cells of
    # every question is right, hence binary_acc = 1/2 and question_acc = 0 whatever the videos
    assert rec["metrics"]["mean_binary_acc"] == pytest.approx(0.5) and rec["metrics"]["mean_question_acc"] == 0.0
    yes = _cells(example_score, cam / "videos", "Yes")
    assert rec["items"][0]["yes_pos_text_pos_image"] == pytest.approx(yes[0][0, 0], abs=1e-6)
    decoded.clear()
    again = run_benchmark("camerabench-vqa", "example-brightness", root=cam, results_dir=results)
    assert not decoded and again["metrics"] == rec["metrics"]


def test_scorer_errors_fail_their_rows_only(cam, tmp_path, camera_product):
    """A pair the scorer reports as failed, and a sample whose scoring raises, fail their own rows."""
    path = cam / "vqa_and_retrieval" / "has_motion" / "has_zoom_in.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows[1]["pos_question"] = "Is there zooming in NAN?"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    path2 = cam / "vqa_and_retrieval" / "motion_direction" / "tilt_up_vs_tilt_down.jsonl"
    row = json.loads(path2.read_text())
    row["neg_question"] = "Does the camera RAISE?"
    path2.write_text(json.dumps(row) + "\n")
    with pytest.warns(UserWarning, match="could not be scored"):
        rec = run_benchmark("camerabench-vqa", camera_product, root=cam, results_dir=tmp_path / "r")
    errors = {(it["task"], it["pos_video"]): it["error"] for it in rec["items"]}
    assert "server said no" in errors[("has_zoom_in", "d.4.mp4")]
    assert "cannot score" in errors[("tilt_up_vs_tilt_down", "e.5.mp4")]
    assert sum(e is not None for e in errors.values()) == 2
    assert rec["metrics"]["failed_rows"] == 2
    # the failing sample (a video with the RAISE question) is isolated: the other rows keep their scores
    videos = cam / "videos"
    ok = [r for r in pair_rows() if r[1] not in ("tilt_up_vs_tilt_down",) and r[4] != "Is there zooming in?"]
    md = [r for r in ok if r[0] == "motion_direction"]
    yes = [np.array([[product_score(v, q, "Yes", videos) for q in (r[4], r[5])] for v in (r[2], r[3])]) for r in md]
    no = [np.array([[product_score(v, q, "No", videos) for q in (r[4], r[5])] for v in (r[2], r[3])]) for r in md]
    assert rec["metrics"]["motion_direction/binary_acc"] == pytest.approx(_vqa_by_hand(yes, no)[0])


# ------------------------------------------------------------------------------------------------ metric functions


def test_average_precision_and_auc_against_sklearn():
    sk = pytest.importorskip("sklearn.metrics")
    from t2v_bench import metrics as M

    rng = np.random.default_rng(0)
    for n in (2, 5, 17, 200):
        for _ in range(20):
            y = rng.integers(0, 2, n)
            if y.min() == y.max():
                y[0] = 1 - y[0]
            s = np.round(rng.random(n), 1)  # many ties
            assert M.average_precision(y, s) == pytest.approx(sk.average_precision_score(y, s), abs=1e-12)
            assert M.auroc(y, s) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    assert M.average_precision([1, 1], [0.2, 0.1]) == 1.0
    assert np.isnan(M.average_precision([0, 0], [0.2, 0.1]))
    with pytest.raises(ValueError, match="NaN"):
        M.average_precision([0, 1], [0.1, float("nan")])


def test_vqa_accuracy_by_hand():
    from t2v_bench import metrics as M

    rng = np.random.default_rng(1)
    yes, no = rng.random((30, 2, 2)), rng.random((30, 2, 2))
    b, q = _vqa_by_hand(list(yes), list(no))
    got = M.vqa_accuracy(yes, no)
    assert got["binary_acc"] == pytest.approx(b) and got["question_acc"] == pytest.approx(q) and got["n"] == 30
    # a tie is wrong (strict comparisons, as the reference)
    assert M.vqa_accuracy(np.full((1, 2, 2), 0.5), np.full((1, 2, 2), 0.5))["binary_acc"] == 0.0
    t, i, g = _wino_by_hand(list(yes))
    w = M.winoground_accuracy(yes)
    assert (w["text"], w["image"], w["group"]) == pytest.approx((t, i, g))
    for bad in (np.zeros((3, 2)), np.zeros((0, 2, 2))):
        with pytest.raises(ValueError):
            M.vqa_accuracy(bad, bad)


def test_population_std():
    from t2v_bench import metrics as M

    v = [0.2, 0.5, 0.9]
    assert M.mean_std_population(v)["std"] == pytest.approx(np.sqrt(np.mean((np.array(v) - np.mean(v)) ** 2)))
    assert M.mean_std_population([0.3])["std"] == 0.0


# ------------------------------------------------------------------------------------------------ captions


def test_caption_metrics_by_hand():
    from t2v_bench import caption_metrics as C

    ref, cand = "The camera pans left.", "camera pans RIGHT"
    # unigram sets {the, camera, pans, left} and {camera, pans, right}: 2 common, P = 2/3, R = 1/2
    assert C.spice_simplified(ref, cand) == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))
    assert C.cider_simplified(ref, cand) == pytest.approx(2 / (2 * np.sqrt(3)))
    # bigrams {(the camera), (camera pans), (pans left)} vs {(camera pans), (pans right)}: P = 1/2, R = 1/3
    p, r = 0.8 * 2 / 3 + 0.2 * 1 / 2, 0.8 * 1 / 2 + 0.2 * 1 / 3
    assert C.meteor_simplified(ref, cand) == pytest.approx(10 * p * r / (r + 9 * p))
    # BLEU-2: p1 = 2/3, p2 = 1/2, brevity penalty exp(1 - 4/3)
    assert C.bleu2(ref, cand) == pytest.approx(np.exp(1 - 4 / 3) * np.sqrt(2 / 3 * 1 / 2))
    assert C.bleu2(ref, "zoom") == 0.0 and C.spice_simplified(ref, "") == 0.0


def test_bleu2_and_rouge_against_their_packages():
    bleu = pytest.importorskip("nltk.translate.bleu_score")
    from t2v_bench import caption_metrics as C

    pairs = [("The camera pans left slowly, maintaining a steady motion.", "the camera slowly pans to the left"),
             ("The camera remains fixed.", "fixed"), ("a b c d e", "a b c d e"), ("tilt up then down", "down up")]
    for ref, cand in pairs:
        want = bleu.sentence_bleu([C.tokens(ref)], C.tokens(cand), weights=(0.5, 0.5),
                                  smoothing_function=bleu.SmoothingFunction().method1)
        assert C.bleu2(ref, cand) == pytest.approx(want, abs=1e-12)
    pytest.importorskip("rouge_score")
    # LCS of the stemmed tokens (the camera pan left) / (camera pan right) is 2: P = 2/3, R = 1/2
    assert C.rouge_l("The camera pans left.", "camera pans right") == pytest.approx(4 / 7)


def test_caption_end_to_end(cam, tmp_path):
    from _camera_helpers import CAPTIONS, write_captions
    from t2v_bench import caption_metrics as C

    write_captions(cam)
    (cam / "videos" / "b.2.mp4").write_bytes(b"broken" * 20)
    results = tmp_path / "r"
    with pytest.warns(UserWarning, match=r"1 sample\(s\) could not be generated"):
        rec = run_benchmark("camerabench-caption", "example-brightness", root=cam, results_dir=results)
    # example-brightness "generates" "video: <prompt>" for a video
    caption = "video: Describe the camera movement in this video."
    items = rec["items"]
    assert [it["caption"] for it in items] == [caption, None, caption]
    assert "b.2.mp4" in items[1]["error"] and rec["metrics"]["failed_rows"] == 1 and rec["metrics"]["n"] == 2
    refs = [CAPTIONS[0][1], CAPTIONS[2][1]]
    # the third reference is the caption itself (up to case and punctuation): every metric is 1 there
    assert items[2]["spice_simplified"] == 1.0 and items[2]["bleu2"] == pytest.approx(1.0)
    for key, fn in (("spice_simplified", C.spice_simplified), ("cider_simplified", C.cider_simplified),
                    ("meteor_simplified", C.meteor_simplified), ("bleu2", C.bleu2)):
        assert rec["metrics"][key] == pytest.approx(np.mean([fn(r, caption) for r in refs]))
    # "the camera pans left slowly steady" vs "video describe the camera movement in this video": {the, camera}
    assert items[0]["spice_simplified"] == pytest.approx(2 * (2 / 7) * (2 / 6) / (2 / 7 + 2 / 6))
    if rec["metrics"].get("coco_bleu1") is not None:  # pycocoevalcap installed
        assert 0 < rec["metrics"]["coco_bleu1"] <= 1 and rec["metrics"]["coco_cider"] > 0
    # captions are kept: a rerun generates only the failed one (still failing) and gives the same metrics
    cache = results / "camerabench-caption__example-brightness.generated.jsonl"
    assert len(cache.read_text().splitlines()) == 2
    with pytest.warns(UserWarning):
        again = run_benchmark("camerabench-caption", "example-brightness", root=cam, results_dir=results)
    assert again["metrics"] == rec["metrics"] and len(cache.read_text().splitlines()) == 2
    with pytest.raises(Exception, match="takes no --question"):
        run_benchmark("camerabench-caption", "example-brightness", root=cam, results_dir=None,
                      question_template="{}")
