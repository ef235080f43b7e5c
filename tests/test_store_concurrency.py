"""Nothing paid for twice: each pair is stored as soon as it is scored, and runs sharing a store share the work
through claims (an owner and an expiry; a dead process's claims are taken over)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter

import numpy as np
import pytest
from PIL import Image
from t2v_example.scorer import example_score

import t2v_core
from t2v_core.store import ScoreStore

Q = 'Does this figure show "{}"?'


def test_claims_owner_release_expiry_and_dead_owner(tmp_path):
    path = tmp_path / "s.sqlite"
    a, b = ScoreStore(path, claim_ttl=60), ScoreStore(path, claim_ttl=60)
    stored, mine, others = a.claim(["k1", "k2"])
    assert (stored, mine, others) == ({}, {"k1", "k2"}, set())
    assert b.claim(["k1", "k2", "k3"])[1:] == ({"k3"}, {"k1", "k2"})  # held by a live owner: skipped
    a.put_many([{"key": "k1", "model": "m", "media_hash": "h", "text": "t", "score": 0.25}], a.add_provenance({}))
    a.release(["k1", "k2"])
    stored, mine, others = b.claim(["k1", "k2"])
    assert stored == {"k1": (0.25, None)} and mine == {"k2"} and not others  # stored ones are never claimed
    b.close()  # closing gives its claims back
    assert a.claim(["k2", "k3"])[1] == {"k2", "k3"}
    # an expired claim is taken over
    short = ScoreStore(path, claim_ttl=0.05)
    assert short.claim(["k4"])[1] == {"k4"}
    time.sleep(0.1)
    assert a.claim(["k4"])[1] == {"k4"}
    # a claim of a process of this machine that has died is void at once, however long its expiry
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = a.owner.split(":")[0]
    a._db.execute("INSERT INTO claims VALUES ('k5', ?, ?)", (f"{host}:{int(dead.stdout)}:x", time.time() + 1e6))
    a._db.execute("INSERT INTO claims VALUES ('k6', ?, ?)", ("elsewhere:1:x", time.time() + 1e6))
    a._db.commit()
    c = ScoreStore(path)
    assert c.claim(["k5", "k6"])[1:] == ({"k5"}, {"k6"})
    for s in (a, short, c):
        s.close()


def test_each_batch_is_stored_before_the_run_ends(tmp_path, gray_images, monkeypatch):
    """A run interrupted in its third batch keeps the first two (the example scorer batches 3 pairs)."""
    s = t2v_core.VQAScore(model="example", device="cpu")
    real = type(s.model).score_pairs
    calls = []

    def dying(self, media, texts, **kw):
        calls.append(len(texts))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, media, texts, **kw)

    monkeypatch.setattr(type(s.model), "score_pairs", dying)
    db = tmp_path / "s.sqlite"
    ds = [{"images": [im], "texts": ["a", "b", "c"]} for im in gray_images]  # 9 pairs in one chunk
    with pytest.raises(KeyboardInterrupt):
        s.batch_forward(ds, store=db)
    st = ScoreStore(db)
    assert st.count() == 6
    got = sorted(r["score"] for r in st.rows())
    want = sorted(example_score(im, Q.format(t), "Yes") for im in gray_images[:2] for t in "abc")
    np.testing.assert_allclose(got, want, atol=1e-6)
    st.close()
    calls.clear()
    monkeypatch.setattr(type(s.model), "score_pairs", lambda self, m, t, **kw: calls.append(len(t)) or real(self, m, t, **kw))
    out = s.batch_forward(ds, store=db)
    assert sum(calls) == 3  # only the pairs of the lost batch
    for k, im in enumerate(gray_images):
        for j, t in enumerate("abc"):
            assert abs(float(out[k, 0, j]) - example_score(im, Q.format(t), "Yes")) < 1e-6


WORKER = textwrap.dedent("""
    import os, sys, time, json
    import numpy as np
    from PIL import Image
    import t2v_core
    n, db, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ds = [{"images": [Image.fromarray(np.full((4, 4, 3), k, np.uint8))], "texts": ["a", "b"]} for k in range(n)]
    s = t2v_core.VQAScore(model="example", device="cpu")
    while not os.path.exists(go):
        time.sleep(0.005)
    out = s.batch_forward(ds, store=db)
    print(json.dumps(out.flatten().tolist()))
""")


def test_two_processes_on_one_store_compute_no_pair_twice(tmp_path):
    n = 60  # 120 pairs, ~0.01 s each, in chunks of 32
    db, go, log = tmp_path / "s.sqlite", tmp_path / "go", tmp_path / "work.log"
    env = {**os.environ, "T2V_EXAMPLE_LOG": str(log), "T2V_EXAMPLE_DELAY": "0.01", "T2V_PLUGINS": "example"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(n), str(db), str(go)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(0.2)
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(np.array(eval(out)))  # noqa: S307 - our own worker's JSON list
    lines = log.read_text().splitlines()
    by_pid = Counter(line.split("\t")[0] for line in lines)
    assert len(lines) == 2 * n, f"{len(lines) - 2 * n} pairs computed twice ({dict(by_pid)})"
    assert len(by_pid) == 2, f"one process did all the work: {dict(by_pid)}"  # they really shared it
    want = np.array([example_score(Image.fromarray(np.full((4, 4, 3), k, np.uint8)), Q.format(t), "Yes")
                     for k in range(n) for t in "ab"])
    for o in outs:
        np.testing.assert_allclose(o, want, atol=1e-6)
    assert ScoreStore(db).count() == 2 * n
