"""Sharded runs under a launcher (``torchrun``, ``accelerate launch``, SLURM through them).

A launcher starts one process per device and tells each its place through ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``. Under one, ``t2v score`` and ``Score.batch_forward``:

- deal the work in deterministic shards grouped by media item (item ``k`` of the input order goes to rank
  ``k % world``), so each item is loaded and encoded by one rank only;
- put each rank's model on its own device (``cuda:LOCAL_RANK`` when CUDA is there and no other device was
  asked for);
- write each rank's scores to its own store shard (``<store>.rank<r>``; no SQLite file is written by two
  processes or two nodes), reading what the merged store already holds, so nothing stored is computed again;
- when every rank is done, rank 0 merges the shards into the store and the results into ``--out``.

A killed run resumes with the same or another number of processes: rank 0 first merges the shards that a
previous run left behind, then the work is dealt again and every stored pair is skipped.

The ranks meet through ``torch.distributed`` with the gloo backend (on CPU and GPU alike): a barrier at the
start and the end, and a gather of the result rows to rank 0.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from .store import ScoreStore

T = TypeVar("T")

#: how long a rank waits at a barrier for the others (the slowest shard) before giving up
DEFAULT_TIMEOUT_S = 24 * 3600


def shard_paths(store: str | Path) -> list[Path]:
    """The shard files that runs under a launcher left beside ``store``."""
    store = Path(store)
    return sorted(p for p in store.parent.glob(store.name + ".rank*") if p.suffix.startswith(".rank")
                  and p.suffix[5:].isdigit())


def merge_shards(store: str | Path) -> int:
    """Merge every shard of ``store`` into it and delete the shards; returns how many scores were added."""
    target = ScoreStore(store)
    before = target.count()
    target.close()
    db = sqlite3.connect(str(store), timeout=60)
    try:
        for shard in shard_paths(store):
            db.execute("ATTACH DATABASE ? AS shard", (str(shard),))
            tables = {r[0] for r in db.execute("SELECT name FROM shard.sqlite_master WHERE type='table'")}
            if "provenance" in tables:
                db.execute("INSERT OR IGNORE INTO provenance SELECT id, json FROM shard.provenance")
            if "scores" in tables:
                db.execute("INSERT OR IGNORE INTO scores (key, model, question_template, answer_template, options,"
                           " media_hash, media_source, text, score, provenance_id, created, note)"
                           " SELECT key, model, question_template, answer_template, options, media_hash,"
                           " media_source, text, score, provenance_id, created, note FROM shard.scores")
            if "failures" in tables:
                db.execute("INSERT INTO failures (key, model, media_source, text, error, kind, created)"
                           " SELECT key, model, media_source, text, error, kind, created FROM shard.failures")
            db.commit()
            db.execute("DETACH DATABASE shard")
            # the store runs in WAL mode: a shard's -wal / -shm files go with it (a killed rank leaves them,
            # and a stale -wal beside a new shard of the same name would corrupt it)
            for path in (shard, *(Path(f"{shard}{x}") for x in ("-wal", "-shm", "-journal"))):
                path.unlink(missing_ok=True)
    finally:
        db.close()
    after = ScoreStore(store)
    added = after.count() - before
    after.close()
    return added


class ShardStore(ScoreStore):
    """A rank's store: writes go to its own shard file; reads see the shard and the merged store."""

    def __init__(self, store: str | Path, rank: int) -> None:
        self.merged_path = Path(store)
        super().__init__(f"{store}.rank{rank}")
        self._merged = ScoreStore(self.merged_path) if self.merged_path.exists() else None

    def _read_entries(self, keys: list[str], out: dict[str, tuple[float, dict[str, Any] | None]]) -> None:
        # every read of the store (get_entries, claim) sees the merged store first, then this rank's shard
        if self._merged is not None:
            out.update(self._merged.get_entries(keys))
        super()._read_entries([k for k in keys if k not in out], out)

    def close(self) -> None:
        """Close the shard and the merged store."""
        if self._merged is not None:
            self._merged.close()
        super().close()


@dataclass(frozen=True)
class Shard:
    """This process's place in a launched run."""

    rank: int
    world: int
    local_rank: int

    @classmethod
    def from_env(cls) -> Shard | None:
        """The shard the launcher's variables describe, or ``None`` outside a multi-process launch."""
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError as e:
            raise ValueError(f"RANK / WORLD_SIZE / LOCAL_RANK must be integers ({e})") from e
        if world <= 1:
            return None
        if not 0 <= rank < world:
            raise ValueError(f"RANK={rank} is outside 0..WORLD_SIZE-1={world - 1}")
        return cls(rank, world, local)

    # ------------------------------------------------------------------ the process group
    def init(self) -> None:
        """Join the launcher's process group (gloo), once."""
        import torch.distributed as dist

        if not dist.is_initialized():
            timeout = float(os.environ.get("T2V_DIST_TIMEOUT_S", DEFAULT_TIMEOUT_S))
            dist.init_process_group("gloo", rank=self.rank, world_size=self.world, timeout=timedelta(seconds=timeout))
            # a gloo group still alive when the interpreter exits can abort the process ("terminate called
            # without an active exception") after a run that succeeded: the group we made, we take down
            atexit.register(_destroy_group)

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        import torch.distributed as dist

        self.init()
        dist.barrier()

    def gather(self, obj: T) -> list[T] | None:
        """Every rank's ``obj`` on rank 0 (in rank order); ``None`` on the other ranks."""
        import torch.distributed as dist

        self.init()
        out: list[Any] | None = [None] * self.world if self.rank == 0 else None
        dist.gather_object(obj, out, dst=0)
        return out

    def all_gather(self, obj: T) -> list[T]:
        """Every rank's ``obj`` on every rank (in rank order)."""
        import torch.distributed as dist

        self.init()
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    # ------------------------------------------------------------------ work and devices
    def select(self, items: Sequence[T]) -> list[T]:
        """This rank's share of ``items`` (grouped by media beforehand): item ``k`` goes to rank ``k % world``."""
        return [item for k, item in enumerate(items) if k % self.world == self.rank]

    def device(self, requested: Any) -> Any:
        """The device of this rank: ``cuda:LOCAL_RANK`` for ``None`` or a bare ``"cuda"`` when CUDA is there."""
        if requested is None or str(requested) == "cuda":
            import torch

            if torch.cuda.is_available():
                return f"cuda:{self.local_rank % torch.cuda.device_count()}"
        return requested

    def open_store(self, store: str | Path | None) -> ShardStore | None:
        """Rank 0 merges what earlier runs left in shards; then every rank opens its own shard."""
        if store is None:
            self.barrier()
            return None
        if self.rank == 0:
            Path(store).parent.mkdir(parents=True, exist_ok=True)
            merge_shards(store)
        self.barrier()
        return ShardStore(store, self.rank)

    def finish_store(self, store: str | Path | None) -> None:
        """After every rank is done: rank 0 merges the shards into ``store``."""
        self.barrier()
        if store is not None and self.rank == 0:
            merge_shards(store)
        self.barrier()


def _destroy_group() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def current() -> Shard | None:
    """The shard of this process when it runs under a multi-process launcher."""
    return Shard.from_env()


def sharded_batch_forward(score: Any, shard: Shard, dataset: Sequence[dict[str, Any]], batch_size: int | None,
                          store: str | Path | None, on_error: str, **kwargs: Any) -> Any:
    """``Score.batch_forward`` under a launcher: this rank scores samples ``k % world == rank`` into its store
    shard, then every rank gets the whole ``(n_samples, n_media, n_texts)`` tensor and every failure."""
    import torch

    if store is not None and not isinstance(store, (str, Path)):
        raise TypeError("under a launcher, batch_forward(store=...) takes a path (each rank writes its own "
                        "shard beside it), not an open ScoreStore")
    samples = score._validate_dataset(dataset)
    n_m, n_t = len(samples[0][0]), len(samples[0][1])
    mine = shard.select(list(range(len(samples))))
    shard_store = shard.open_store(store)
    score._sharded = True
    try:
        part = score.batch_forward([dataset[i] for i in mine], batch_size, store=shard_store, on_error="nan",
                                   **kwargs) if mine else torch.empty(0, n_m, n_t)
        failures, notes = list(score.model.failures), list(score.model.notes)
    finally:
        score._sharded = False
        if shard_store is not None:
            shard_store.close()
    shard.finish_store(store)
    out = torch.full((len(samples), n_m, n_t), float("nan"))
    all_failures, all_notes = [], []
    for idx, scores, fails, nts in shard.all_gather((mine, part, failures, notes)):
        if idx:
            out[torch.tensor(idx)] = scores
        for rec in [*fails, *nts]:
            rec.detail = {**rec.detail, "sample": idx[rec.detail.get("sample", 0)]}
        all_failures += fails
        all_notes += nts
    score.model.failures, score.model.notes = all_failures, all_notes
    score._check_failures(out, on_error)
    score._warn_notes(out)
    return out
