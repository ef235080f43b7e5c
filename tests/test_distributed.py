"""Sharded runs: `t2v score` and `batch_forward` under torchrun and accelerate launch, 2 CPU processes (gloo)."""

from __future__ import annotations

import csv
import http.server
import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from t2v_core.distributed import Shard, merge_shards, shard_paths
from t2v_core.store import ScoreStore

pytestmark = pytest.mark.timeout(600)
TEXTS = ["a cat", "two dogs", "a red cube"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pairs(tmp_path: Path, n_images: int, extra: list[str] = ()) -> Path:
    rows = []
    for k in range(n_images):
        Image.new("RGB", (4, 4), (3 * k % 256, 7 * k % 256, 11 * k % 256)).save(tmp_path / f"i{k}.png")
        rows += [{"image": f"i{k}.png", "text": t} for t in TEXTS]
    rows += [{"image": m, "text": t} for m in extra for t in TEXTS]
    path = tmp_path / "pairs.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["image", "text"])
        w.writeheader()
        w.writerows(rows)
    return path


def _launch(launcher: str, n: int, args: list[str], **kw) -> subprocess.Popen:
    if launcher == "torchrun":
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n),
               "--master_port", str(_port())]
    else:
        # --multi_gpu is accelerate's torchrun-style launcher; without GPUs its processes run on the CPU
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(n),
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(_port())]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "T2V_PROGRESS": "0"}
    return subprocess.Popen([*cmd, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kw)


def _run(launcher: str, n: int, args: list[str]) -> str:
    proc = _launch(launcher, n, args)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


def _score_args(pairs: Path, out: Path, store: Path | None = None) -> list[str]:
    args = ["-m", "t2v_core.cli", "score", "--model", "example-brightness", "--pairs", str(pairs), "--out", str(out)]
    return args + (["--store", str(store)] if store else [])


def _single(pairs: Path, out: Path) -> str:
    from t2v_core.cli import main

    assert main(["score", "--model", "example-brightness", "--pairs", str(pairs), "--out", str(out)]) == 0
    return out.read_text()


def test_shard_dealing_is_deterministic_and_complete(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    parts = []
    for r in range(3):
        monkeypatch.setenv("RANK", str(r))
        shard = Shard.from_env()
        assert shard is not None and shard.rank == r and shard.device("cpu") == "cpu"
        parts.append(shard.select(list(range(10))))
    assert sorted(x for p in parts for x in p) == list(range(10)) and parts[1] == [1, 4, 7]
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert Shard.from_env() is None
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(ValueError, match="RANK=5"):
        Shard.from_env()


@pytest.mark.parametrize("launcher", ["torchrun", "accelerate"])
def test_launched_run_equals_single_process_and_scores_each_pair_once(launcher, tmp_path):
    if launcher == "accelerate":
        pytest.importorskip("accelerate")
    pairs = _pairs(tmp_path, 9)
    want = _single(pairs, tmp_path / "single.csv")
    log = _run(launcher, 2, _score_args(pairs, tmp_path / "out.csv", tmp_path / "s.sqlite"))
    assert (tmp_path / "out.csv").read_text() == want
    assert "rank 1 of 2: computed 12, reused 0" in log  # items 1, 3, 5, 7 x 3 texts
    assert "computed 27, reused 0 from the store (2 processes)" in log
    assert ScoreStore(tmp_path / "s.sqlite").count() == 27 and not shard_paths(tmp_path / "s.sqlite")


def test_batch_forward_under_torchrun(tmp_path):
    script = tmp_path / "bf.py"
    script.write_text(
        "import sys, torch, t2v_core\n"
        "from PIL import Image\n"
        "data = [{'images': [Image.new('RGB', (4, 4), (k * 9 + 9, 0, 0)), Image.new('RGB', (4, 4), (0, k * 5 + 5, 0))],"
        " 'texts': ['a cat', 'a dog']} for k in range(7)]\n"
        "score = t2v_core.VQAScore(model='example-brightness', device='cpu')\n"
        "out = score.batch_forward(data, store=sys.argv[1])\n"
        "torch.save(out, sys.argv[2] + '.' + __import__('os').environ['RANK'])\n")
    _run("torchrun", 2, [str(script), str(tmp_path / "bf.sqlite"), str(tmp_path / "scores.pt")])
    import t2v_core

    data = [{"images": [Image.new("RGB", (4, 4), (k * 9 + 9, 0, 0)), Image.new("RGB", (4, 4), (0, k * 5 + 5, 0))],
             "texts": ["a cat", "a dog"]} for k in range(7)]
    want = t2v_core.VQAScore(model="example-brightness", device="cpu").batch_forward(data)
    for rank in (0, 1):  # every rank gets the whole tensor
        assert torch.equal(torch.load(tmp_path / f"scores.pt.{rank}"), want)
    assert ScoreStore(tmp_path / "bf.sqlite").count() == 28


class _SlowThenFast(http.server.BaseHTTPRequestHandler):
    """Serves a PNG; while ``hold`` is set it first waits (a download that never ends, for the kill test)."""

    hold = threading.Event()
    png = b""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        while self.hold.is_set():
            time.sleep(0.05)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.png)))
        self.end_headers()
        self.wfile.write(self.png)

    def log_message(self, *args) -> None:
        pass


def _rank_pids(marker: str, rank: int) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
            cmd = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if f"T2V_TEST_MARK={marker}".encode() in env and f"RANK={rank}".encode() in env and b"t2v_core.cli" in cmd \
                and b"torch.distributed.run" not in cmd:
            pids.append(int(proc.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process through /proc")
def test_killed_rank_resumes_with_another_number_of_processes(tmp_path, monkeypatch):
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buf, format="PNG")
    _SlowThenFast.png = buf.getvalue()
    _SlowThenFast.hold.set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowThenFast)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slow.png"
    # 66 files, then the URL: item 66 is rank 0's, item 67 ... we want rank 1 to stall after storing a chunk,
    # so put the URL at item 67 (rank 1's 34th item: its second chunk of 32)
    pairs = _pairs(tmp_path, 67, extra=[url])
    store, out = tmp_path / "s.sqlite", tmp_path / "out.csv"
    monkeypatch.setenv("T2V_TEST_MARK", tmp_path.name)
    proc = _launch("torchrun", 2, _score_args(pairs, out, store), start_new_session=True)
    try:
        deadline = time.time() + 240
        rank1 = Path(f"{store}.rank1")
        while True:  # wait until rank 1 has stored its first chunk and hangs on the URL
            assert time.time() < deadline and proc.poll() is None, proc.stdout.read() if proc.poll() else "timeout"
            if rank1.exists():
                try:
                    done = sqlite3.connect(rank1).execute("SELECT COUNT(*) FROM scores").fetchone()[0]
                except sqlite3.Error:
                    done = 0
                if done >= 32 * len(TEXTS):
                    break
            time.sleep(0.2)
        pids = _rank_pids(tmp_path.name, 1)
        assert pids, "rank 1's process not found"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=120)
        assert proc.returncode != 0
    finally:
        # torchrun can exit before the other rank has died: end the whole group, then wait until no rank
        # is left, so that nothing writes to the shards after they are counted
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        deadline = time.time() + 60
        while (_rank_pids(tmp_path.name, 0) or _rank_pids(tmp_path.name, 1)) and time.time() < deadline:
            time.sleep(0.1)
        _SlowThenFast.hold.clear()
    stored = sum(sqlite3.connect(p).execute("SELECT COUNT(*) FROM scores").fetchone()[0] for p in shard_paths(store))
    assert stored >= 32 * len(TEXTS) and not out.exists()
    total = 68 * len(TEXTS)
    log = _run("torchrun", 3, _score_args(pairs, out, store))
    server.shutdown()
    # nothing stored before the kill is computed again, with 3 processes instead of 2
    assert f"computed {total - stored}, reused {stored} from the store (3 processes)" in log
    assert ScoreStore(store).count() == total and not shard_paths(store)
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == total and all(r["score"] for r in rows)


def test_merge_shards_keeps_every_score_once(tmp_path):
    from t2v_core.store import score_key

    store = tmp_path / "m.sqlite"
    for rank, texts in ((0, ["a", "b"]), (1, ["b", "c"])):
        s = ScoreStore(f"{store}.rank{rank}")
        pid = s.add_provenance({"rank": rank})
        s.put_many([{"key": score_key("m", None, None, {}, "h", t), "model": "m", "media_hash": "h", "text": t,
                     "score": 0.5} for t in texts], pid)
        s.close()
    assert merge_shards(store) == 3 and not shard_paths(store)
    assert sorted(r["text"] for r in ScoreStore(store).rows()) == ["a", "b", "c"]
