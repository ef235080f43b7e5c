"""GenAI-Bench image / video and GenAI-Rank end to end with the example plugin's closed-form scorers."""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest
from _bench_helpers import (
    GENAI_PROMPTS,
    brightness_score,
    brute_acc23,
    decoded_frames,
    solid,
    write_json,
    write_video,
)
from t2v_bench.cli import main
from t2v_bench.runner import run_benchmark


def _expected_skills(out, gen):
    """Per-skill mean and sample std of the example-brightness scores, from the files themselves."""
    s = {k: brightness_score(out / gen / f"{k}.jpeg", p) for k, p in GENAI_PROMPTS.items()}
    a, b, c = s["00000"], s["00001"], s["00002"]
    return {
        "attribute": (np.mean([a, c]), np.std([a, c], ddof=1)),  # prompts 0 and 2
        "scene": (a, math.nan),  # prompt 0 only: std undefined
        "counting": (b, math.nan),
        "comparison": (c, math.nan),
        "basic": (np.mean([a, c]), np.std([a, c], ddof=1)),
        "advanced": (np.mean([b, c]), np.std([b, c], ddof=1)),
        "all": (np.mean([a, b, c]), np.std([a, b, c], ddof=1)),
    }


def test_genai_bench_image_cli_end_to_end(genai_root, genai_outputs, tmp_path, capsys):
    results = tmp_path / "results"
    code = main(["run", "genai-bench-image", "--model", "example-brightness", "--root", str(genai_root),
                 "--out", str(genai_outputs), "--results", str(results)])
    printed = capsys.readouterr().out
    assert code == 0
    # the per-skill tables are printed, one row per generator found under --out
    assert "basic skills" in printed and "advanced skills" in printed and "overall skills" in printed
    assert "gen-a" in printed and "gen-b" in printed
    record = json.loads((results / "genai-bench-image__example-brightness.json").read_text())
    assert record["gen_models"] == ["gen-a", "gen-b"]
    for gen in ("gen-a", "gen-b"):
        for skill, (mean, std) in _expected_skills(genai_outputs, gen).items():
            got = record["skills"][gen][skill]
            assert got["mean"] == pytest.approx(mean, abs=1e-6), (gen, skill)
            if math.isnan(std):
                assert got["std"] is None  # NaN is written as null
            else:
                assert got["std"] == pytest.approx(std, abs=1e-6)
        assert record["metrics"][f"{gen}/all"] == pytest.approx(_expected_skills(genai_outputs, gen)["all"][0],
                                                                abs=1e-6)
    assert "action relation" not in record["skills"]["gen-a"]  # a skill without prompts has no mean
    # CSV of items, summary files and the HTML report with an inline chart
    assert (results / "genai-bench-image__example-brightness.csv").read_text().count("\n") == 7
    html = (results / "report.html").read_text()
    assert "<svg" in html and "example-brightness / gen-a" in html and "<img src=\"http" not in html
    assert (results / "summary.csv").exists()
    # every pair went into the store; a rerun reads them back instead of scoring again
    with sqlite3.connect(results / "scores.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 6
    assert main(["run", "genai-bench-image", "--model", "example-brightness", "--root", str(genai_root),
                 "--out", str(genai_outputs), "--results", str(results), "--gen-model", "gen-b"]) == 0
    again = json.loads((results / "genai-bench-image__example-brightness__gen-b.json").read_text())
    assert again["skills"]["gen-b"] == record["skills"]["gen-b"]


def test_report_command(genai_root, genai_outputs, tmp_path, capsys):
    results = tmp_path / "r"
    run_benchmark("genai-bench-image", "example-brightness", root=genai_root,
                  options={"out": str(genai_outputs)}, results_dir=results)
    run_benchmark("genai-bench-image", "example-clip", root=genai_root,
                  options={"out": str(genai_outputs)}, results_dir=results)
    capsys.readouterr()
    assert main(["report", str(results), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "scored by example-brightness" in out and "scored by example-clip" in out
    html = (tmp_path / "rep" / "report.html").read_text()
    for subject in ("example-brightness / gen-a", "example-clip / gen-b"):
        assert subject in html
    rows = (tmp_path / "rep" / "summary.csv").read_text().splitlines()
    assert rows[0] == "benchmark,model,metric,value" and len(rows) == 1 + 4
    assert main(["report", str(tmp_path / "missing")]) == 1


def test_missing_data_and_images_say_what_to_do(genai_root, genai_outputs, tmp_path, capsys):
    assert main(["run", "genai-bench-image", "--model", "example-brightness", "--root", str(tmp_path / "none"),
                 "--out", str(genai_outputs)]) == 1
    err = capsys.readouterr().err
    assert "genai_image.json not found" in err and "zhiqiulin/GenAI-Bench-1600" in err and "Traceback" not in err
    (genai_outputs / "gen-a" / "00001.jpeg").unlink()
    assert main(["run", "genai-bench-image", "--model", "example-brightness", "--root", str(genai_root),
                 "--out", str(genai_outputs), "--results", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "1 of 6 generated image(s)" in err and "00001.jpeg" in err
    assert main(["run", "genai-bench-image", "--model", "example-brightness", "--root", str(genai_root),
                 "--prompts", "99"]) == 1
    assert "1600 or 527" in capsys.readouterr().err
    assert main(["run", "genai-bench-image", "--model", "no-such-model", "--root", str(genai_root),
                 "--out", str(genai_outputs)]) == 1
    assert "unknown model" in capsys.readouterr().err
    assert main(["run", "genai-bench-image"]) == 2  # --model missing: usage error
    assert main(["run", "genai-bench-image", "--model", "example-clip", "--option", "bad"]) == 2
    assert main(["run", "genai-bench-image", "--model", "example-clip", "--root", str(genai_root),
                 "--option", "nope=1"]) == 1
    assert "unknown option(s) ['nope']" in capsys.readouterr().err


def test_genai_bench_published_generations_with_human_ratings(tmp_path):
    """Without --out: the published generations under GenAI-Image-527/<model>/ and their human ratings."""
    d = tmp_path / "GenAI-Image-527"
    ratings = {"DALLE_3": [[5, 5, 4], [2, 1, 1], [3, 3, 3]], "SDXL_Base": [[1, 2, 2], [4, 4, 5], [3, 2, 2]]}
    levels = {"DALLE_3": [230, 20, 140], "SDXL_Base": [60, 200, 100]}
    write_json(d / "genai_image.json", {k: {"id": k, "prompt": p, "models": {m: ratings[m][i] for m in ratings}}
                                        for i, (k, p) in enumerate(GENAI_PROMPTS.items())})
    write_json(d / "genai_skills.json", {"attribute": [0, 1, 2], "counting": [1]})
    for m, vals in levels.items():
        for k, v in zip(GENAI_PROMPTS, vals):
            solid(d / m / f"{k}.jpeg", (v, v, v))
    rec = run_benchmark("genai-bench-image", "example-brightness", root=tmp_path, options={"prompts": 527},
                        results_dir=None)
    assert rec["gen_models"] == ["DALLE_3", "SDXL_Base"]
    ours = [brightness_score(d / m / f"{k}.jpeg", p) for m in levels for k, p in GENAI_PROMPTS.items()]
    human = [np.mean(r) for m in ratings for r in ratings[m]]
    assert rec["metrics"]["human/pearson"] == pytest.approx(np.corrcoef(human, ours)[0, 1], abs=1e-6)
    assert rec["metrics"]["human/pairwise_acc"] == pytest.approx(brute_acc23(human, ours), abs=1e-9)
    assert rec["metrics"]["human/n"] == 6
    # derived group tags (the file has no 'basic'/'advanced'): basic = attribute, advanced = counting
    assert rec["skills"]["DALLE_3"]["advanced"]["mean"] == pytest.approx(ours[1], abs=1e-6)


def test_genai_bench_video_frames(tmp_path):
    d = tmp_path / "GenAI-Video-800"
    write_json(d / "genai_video.json", {k: {"id": k, "prompt": p, "models": {}} for k, p in GENAI_PROMPTS.items()})
    write_json(d / "genai_skills.json", {"counting": [1, 2], "scene": [0]})
    out = tmp_path / "videos"
    paths = {k: write_video(out / "my-t2v" / f"{k}.mp4", lv) for k, lv in
             zip(GENAI_PROMPTS, [[20, 200], [100, 100, 100], [250]])}
    rec = run_benchmark("genai-bench-video", "example-brightness", root=tmp_path,
                        options={"out": str(out), "num_frames": 3}, results_dir=None)

    def expected(k):  # the first 3 frames, the last repeated when the video is shorter
        frames = decoded_frames(paths[k])[:3]
        frames += [frames[-1]] * (3 - len(frames))
        return np.mean([brightness_score(f, GENAI_PROMPTS[k]) for f in frames])

    sk = rec["skills"]["my-t2v"]
    assert sk["counting"]["mean"] == pytest.approx(np.mean([expected("00001"), expected("00002")]), abs=1e-6)
    assert sk["scene"]["mean"] == pytest.approx(expected("00000"), abs=1e-6)
    # mode=video hands the file to the (video-capable) scorer, which samples its own frames
    rec2 = run_benchmark("genai-bench-video", "example-brightness", root=tmp_path,
                         options={"out": str(out), "mode": "video"}, results_dir=None)
    assert rec2["skills"]["my-t2v"]["all"]["n"] == 3


def test_genai_rank(tmp_path):
    d = tmp_path / "GenAI-Image-Ranking-800"
    prompts = {"00000": "a cat", "00001": "two dogs"}
    ratings = {"00000": {"1": [5, 5], "2": [1, 2], "3": [3, 3]}, "00001": {"1": [2, 2], "2": [2, 2], "3": [4, 5]}}
    levels = {"00000": [200, 30, 100], "00001": [50, 180, 120]}
    write_json(d / "human_rating.json", {k: {"id": k, "prompt": p, "models": {"DALLE_3": ratings[k]}}
                                         for k, p in prompts.items()})
    for k, vals in levels.items():
        for i, v in enumerate(vals, 1):
            solid(d / "DALLE_3" / f"{k}_{i:02d}.jpeg", (v, v, v))
    rec = run_benchmark("genai-rank", "example-brightness", root=tmp_path, results_dir=None)
    ours = [brightness_score(d / "DALLE_3" / f"{k}_{i:02d}.jpeg", prompts[k]) for k in prompts for i in (1, 2, 3)]
    human = [np.mean(ratings[k][str(i)]) for k in prompts for i in (1, 2, 3)]
    # same prompt -> same prompt value, so the score orders images by brightness:
    # prompt 0: best (img 1, 200) > worst (img 2, 30): hit; prompt 1: best img 3 (120) vs worst img 1 (50): hit
    assert rec["metrics"]["best_vs_worst_acc"] == 1.0
    groups = ["00000"] * 3 + ["00001"] * 3
    assert rec["metrics"]["pairwise_acc_per_prompt"] == pytest.approx(brute_acc23(human, ours, groups))
    assert rec["metrics"]["pearson"] == pytest.approx(np.corrcoef(human, ours)[0, 1], abs=1e-6)
    with pytest.raises(Exception, match="no ratings for gen_model 'SDXL_Base'"):
        run_benchmark("genai-rank", "example-brightness", root=tmp_path, options={"gen_model": "SDXL_Base"},
                      results_dir=None)


def test_noted_scores_are_listed_in_the_result(genai_root, genai_outputs, tmp_path, capsys):
    """A score the scorer flags as not exact (the example scorer flags texts containing '(approx)') stays in
    the metrics, and the result says which samples it came from; a resumed run says the same."""
    prompts_file = genai_root / "GenAI-Image-1600" / "genai_image.json"
    data = json.loads(prompts_file.read_text())
    data["00001"]["prompt"] = "three cats and no dogs (approx)"
    write_json(prompts_file, data)
    results = tmp_path / "results"
    args = ["run", "genai-bench-image", "--model", "example-brightness", "--root", str(genai_root),
            "--out", str(genai_outputs), "--results", str(results)]
    for _ in range(2):  # the second run reads every score back from the store, notes included
        with pytest.warns(UserWarning, match=r"2 benchmark score\(s\) are not exact values \(approximate\)"):
            assert main(args) == 0
        printed = capsys.readouterr().out
        assert "note: 2 score(s) behind these metrics are not exact values (approximate: 2)" in printed
        record = json.loads((results / "genai-bench-image__example-brightness.json").read_text())
        noted = sorted((n["sample"], n["media"], n["text"], n["kind"]) for n in record["notes"])
        # one sample per (generator, prompt): prompt 00001 of gen-a and of gen-b
        items = record["items"]
        assert [items[k]["prompt_id"] for k, *_ in noted] == ["00001", "00001"]
        assert {items[k]["gen_model"] for k, *_ in noted} == {"gen-a", "gen-b"}
        assert all(m == 0 and t == 0 and kind == "approximate" for _, m, t, kind in noted)
        want = brightness_score(genai_outputs / "gen-a" / "00001.jpeg", "three cats and no dogs (approx)")
        assert record["skills"]["gen-a"]["counting"]["mean"] == pytest.approx(want, abs=1e-6)


def test_genai_bench_per_skill_agreement_with_human_ratings(tmp_path):
    """The reference's evaluate_scores_per_skill: per skill, Pearson, Kendall tau-b and the tie-calibrated
    pairwise accuracy between score and human rating over every rated image of the skill's prompts."""
    from scipy.stats import kendalltau

    d = tmp_path / "GenAI-Image-527"
    ratings = {"DALLE_3": [[5, 5, 4], [2, 1, 1], [3, 3, 3]], "SDXL_Base": [[1, 2, 2], [4, 4, 5], [3, 2, 2]],
               "Midjourney_6": [[4, 4, 4], [1, 1, 2], [5, 4, 5]]}
    levels = {"DALLE_3": [230, 20, 140], "SDXL_Base": [60, 200, 100], "Midjourney_6": [180, 90, 250]}
    write_json(d / "genai_image.json", {k: {"id": k, "prompt": p, "models": {m: ratings[m][i] for m in ratings}}
                                        for i, (k, p) in enumerate(GENAI_PROMPTS.items())})
    skills = {"attribute": [0, 2], "counting": [1, 2], "negation": [1], "basic": [0, 2], "advanced": [1, 2]}
    write_json(d / "genai_skills.json", skills)
    for m, vals in levels.items():
        for k, v in zip(GENAI_PROMPTS, vals):
            solid(d / m / f"{k}.jpeg", (v, v, v))
    results = tmp_path / "res"
    rec = run_benchmark("genai-bench-image", "example-brightness", root=tmp_path, options={"prompts": 527},
                        results_dir=results)
    keys = list(GENAI_PROMPTS)
    gens = list(rec["gen_models"])
    ours = {(m, k): brightness_score(d / m / f"{k}.jpeg", GENAI_PROMPTS[k]) for m in gens for k in keys}
    human = {(m, k): float(np.mean(ratings[m][i])) for m in gens for i, k in enumerate(keys)}
    for skill, ids in skills.items():
        items = [(m, f"{i:05d}") for m in gens for i in ids]
        h, s = [human[x] for x in items], [ours[x] for x in items]
        assert rec["metrics"][f"human/{skill}/n"] == len(items)
        assert rec["metrics"][f"human/{skill}/pearson"] == pytest.approx(np.corrcoef(h, s)[0, 1], abs=1e-6)
        assert rec["metrics"][f"human/{skill}/kendall_tau_b"] == pytest.approx(kendalltau(h, s).statistic, abs=1e-6)
        assert rec["metrics"][f"human/{skill}/pairwise_acc"] == pytest.approx(brute_acc23(h, s), abs=1e-9)
    table = next(t for t in rec["tables"] if "agreement with human ratings per skill" in t["title"])
    assert [r[0] for r in table["rows"]] == list(skills)
    from t2v_bench.report import write_report

    html = write_report(results)["html"].read_text()
    assert "genai-bench-image: agreement with human ratings per skill" in html
