"""A score store: one SQLite file holding every computed score with how it was made, so that a killed run
resumes where it stopped, nothing is computed twice, and every number can say where it came from."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import StoreError

#: seconds a write waits for another process's lock on the store before it fails (``T2V_STORE_TIMEOUT``)
BUSY_TIMEOUT_S = 30.0
#: seconds a claim on a pair lasts unless renewed: a claim of a process that died (on another machine; a
#: dead process on this machine is noticed at once) lapses after it (``T2V_CLAIM_TTL``)
CLAIM_TTL_S = 600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS provenance (
    id TEXT PRIMARY KEY,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    question_template TEXT,
    answer_template TEXT,
    options TEXT NOT NULL,
    media_hash TEXT NOT NULL,
    media_source TEXT,
    text TEXT NOT NULL,
    score REAL NOT NULL,
    provenance_id TEXT NOT NULL REFERENCES provenance(id),
    created REAL NOT NULL,
    note TEXT
);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT NOT NULL,
    model TEXT NOT NULL,
    media_source TEXT,
    text TEXT NOT NULL,
    error TEXT NOT NULL,
    kind TEXT,
    created REAL NOT NULL
);
"""


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def score_key(model: str, question: str | None, answer: str | None, options: dict[str, Any], media_hash: str,
              text: str, identity: dict[str, Any] | None = None) -> str:
    """The key of one score: everything that changes the number, hashed (``identity``: the scorer's own
    settings, such as dtype, checkpoint or served model; see :attr:`t2v_core.scorer.Scorer.identity`)."""
    payload = _canonical([model, question, answer, options, media_hash, text, identity or {}])
    return hashlib.sha256(payload.encode()).hexdigest()


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise StoreError(f"{name}={raw!r} is not a number of seconds") from None
    if not value >= 0:
        raise StoreError(f"{name}={raw!r} must be a non-negative number of seconds")
    return value


_HOST = socket.gethostname()


def _owner_alive(owner: str) -> bool:
    """Whether the process that took a claim may still run: a claim of a dead process of this machine is void."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return True  # another machine: only the expiry can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours to signal
        return True
    try:  # a killed process its parent has not reaped yet still answers signals: read its state
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


class ScoreStore:
    """SQLite-backed store of scores. Safe to share between threads of one process, and between processes:
    each write commits, a write waits up to ``timeout`` seconds for another writer's lock, and pairs are
    claimed (:meth:`claim`) before they are computed so that concurrent runs share the work.

    Args:
        path: the SQLite file (created if missing).
        timeout: seconds a write waits for a lock held by another connection (default ``T2V_STORE_TIMEOUT``
            or 30 s); after that a :class:`StoreError` names the store.
        claim_ttl: seconds a claim lasts unless renewed (default ``T2V_CLAIM_TTL`` or 600 s).
    """

    def __init__(self, path: str | Path, timeout: float | None = None, claim_ttl: float | None = None) -> None:
        self.path = Path(path)
        self.timeout = _env_seconds("T2V_STORE_TIMEOUT", BUSY_TIMEOUT_S) if timeout is None else float(timeout)
        self.claim_ttl = _env_seconds("T2V_CLAIM_TTL", CLAIM_TTL_S) if claim_ttl is None else float(claim_ttl)
        #: who this store's claims belong to: host, process and a per-store token
        self.owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        if self.path.is_dir():
            raise StoreError(f"score store {str(self.path)!r} is a folder, not a file; pass a file such as "
                             f"{str(self.path / 'scores.sqlite')!r}")
        if self.path.is_file() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as fh:
                head = fh.read(16)
            if head != b"SQLite format 3\x00":  # never turn a user's other file into a store
                raise StoreError(f"score store {str(self.path)!r} is not a SQLite score store (it starts with "
                                 f"{head[:8]!r}); pass a new file name or an existing store")
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), timeout=self.timeout, check_same_thread=False)
        except sqlite3.Error as e:
            raise self._error(e) from None
        try:
            with self._guard():
                # WAL: readers never block the writer, and a commit survives a kill -9 of the process
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(SCHEMA)
                # stores written before notes existed lack the column; a NULL note means an exact score
                columns = {row[1] for row in self._db.execute("PRAGMA table_info(scores)")}
                if "note" not in columns:
                    self._db.execute("ALTER TABLE scores ADD COLUMN note TEXT")
                self._db.commit()
        except StoreError:
            self._db.close()
            raise

    def _error(self, e: Exception) -> StoreError:
        text = str(e)
        where = f"score store {str(self.path)!r}"
        if "locked" in text or "busy" in text:
            return StoreError(f"{where} is locked by another process or connection, and stayed locked for "
                              f"{self.timeout:g} s ({text}); let the other run finish, raise the wait with "
                              "T2V_STORE_TIMEOUT, or use another store file")
        if "not a database" in text or "malformed" in text or "encrypted" in text:
            return StoreError(f"{where} is not a SQLite score store ({text}); pass a new file name or an "
                              "existing store")
        return StoreError(f"{where} cannot be used ({type(e).__name__}: {text})")

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):
                self._db.rollback()
            raise self._error(e) from None

    def close(self) -> None:
        """Give back this store's claims and close the database file."""
        with contextlib.suppress(StoreError, sqlite3.Error):
            self.release_all()
        self._db.close()

    def __enter__(self) -> ScoreStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def add_provenance(self, provenance: dict[str, Any]) -> str:
        """Record a provenance dict once; returns its id (a hash of its content)."""
        text = _canonical(provenance)
        pid = hashlib.sha256(text.encode()).hexdigest()[:16]
        with self._lock, self._guard():
            self._db.execute("INSERT OR IGNORE INTO provenance (id, json) VALUES (?, ?)", (pid, text))
            self._db.commit()
        return pid

    def get_entries(self, keys: Iterable[str]) -> dict[str, tuple[float, dict[str, Any] | None]]:
        """The stored scores among ``keys``, each with its note (``None`` for an exact score)."""
        keys = list(keys)
        out: dict[str, tuple[float, dict[str, Any] | None]] = {}
        with self._lock, self._guard():
            self._read_entries(keys, out)
        return out

    def _read_entries(self, keys: list[str], out: dict[str, tuple[float, dict[str, Any] | None]]) -> None:
        for s in range(0, len(keys), 500):
            chunk = keys[s:s + 500]
            q = f"SELECT key, score, note FROM scores WHERE key IN ({','.join('?' * len(chunk))})"
            for key, score, note in self._db.execute(q, chunk).fetchall():
                out[key] = (score, json.loads(note) if note else None)

    def claim(self, keys: Iterable[str]) -> tuple[dict[str, tuple[float, dict[str, Any] | None]], set[str], set[str]]:
        """Claim the pairs among ``keys`` that nobody has stored or claimed, in one transaction.

        Returns ``(stored, mine, others)``: the stored entries (as :meth:`get_entries`), the keys now claimed
        by this store (to compute), and the keys another live run holds (to skip now and ask again later).
        A claim that expired, or whose process on this machine has died, is taken over.
        """
        keys = list(dict.fromkeys(keys))
        stored: dict[str, tuple[float, dict[str, Any] | None]] = {}
        mine: set[str] = set()
        others: set[str] = set()
        now = time.time()
        with self._lock, self._guard():
            self._db.execute("BEGIN IMMEDIATE")  # read and claim atomically with respect to other processes
            self._read_entries(keys, stored)
            free = [k for k in keys if k not in stored]
            held: dict[str, tuple[str, float]] = {}
            for s in range(0, len(free), 500):
                chunk = free[s:s + 500]
                q = f"SELECT key, owner, expires FROM claims WHERE key IN ({','.join('?' * len(chunk))})"
                held.update({k: (o, e) for k, o, e in self._db.execute(q, chunk).fetchall()})
            alive: dict[str, bool] = {}
            for k in free:
                if k in held:
                    owner, expires = held[k]
                    if owner != self.owner and expires > now and alive.setdefault(owner, _owner_alive(owner)):
                        others.add(k)
                        continue
                mine.add(k)
            self._db.executemany("INSERT OR REPLACE INTO claims (key, owner, expires) VALUES (?, ?, ?)",
                                 [(k, self.owner, now + self.claim_ttl) for k in mine])
            self._db.commit()
        return stored, mine, others

    def renew(self) -> None:
        """Push back the expiry of every claim this store holds (a long computation keeps its pairs)."""
        with self._lock, self._guard():
            self._db.execute("UPDATE claims SET expires = ? WHERE owner = ?", (time.time() + self.claim_ttl, self.owner))
            self._db.commit()

    def release(self, keys: Iterable[str]) -> None:
        """Give back this store's claims on ``keys`` (computed, or failed: another run may try them)."""
        keys = list(keys)
        with self._lock, self._guard():
            for s in range(0, len(keys), 500):
                chunk = keys[s:s + 500]
                self._db.execute(f"DELETE FROM claims WHERE owner = ? AND key IN ({','.join('?' * len(chunk))})",
                                 [self.owner, *chunk])
            self._db.commit()

    def release_all(self) -> None:
        """Give back every claim this store holds."""
        with self._lock, self._guard():
            self._db.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))
            self._db.commit()

    def put_many(self, rows: Iterable[dict[str, Any]], provenance_id: str) -> int:
        """Store finite scores, each with its ``note`` (a dict, or ``None`` for an exact score); NaN (a failed
        pair) is never stored, so a rerun asks for it again."""
        now = time.time()
        data = [
            (r["key"], r["model"], r.get("question_template"), r.get("answer_template"), _canonical(r.get("options", {})),
             r["media_hash"], r.get("media_source"), r["text"], float(r["score"]), provenance_id, now,
             _canonical(r["note"]) if r.get("note") else None)
            for r in rows if r["score"] is not None and math.isfinite(float(r["score"]))
        ]
        if not data:
            return 0
        with self._lock, self._guard():
            self._db.executemany(
                "INSERT OR REPLACE INTO scores (key, model, question_template, answer_template, options, media_hash,"
                " media_source, text, score, provenance_id, created, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", data)
            self._db.commit()
        return len(data)

    def put_failures(self, rows: Iterable[dict[str, Any]]) -> None:
        """Record failed pairs (kept for the record; they do not count as computed)."""
        now = time.time()
        data = [(r["key"], r["model"], r.get("media_source"), r["text"], r["error"], r.get("kind"), now) for r in rows]
        with self._lock, self._guard():
            self._db.executemany("INSERT INTO failures (key, model, media_source, text, error, kind, created)"
                                 " VALUES (?,?,?,?,?,?,?)", data)
            self._db.commit()

    def count(self) -> int:
        """How many scores are stored."""
        with self._lock, self._guard():
            return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    def rows(self) -> list[dict[str, Any]]:
        """Every stored score with its provenance, oldest first."""
        with self._lock, self._guard():
            cur = self._db.execute(
                "SELECT s.model, s.question_template, s.answer_template, s.options, s.media_source, s.media_hash,"
                " s.text, s.score, s.note, p.json FROM scores s JOIN provenance p ON p.id = s.provenance_id"
                " ORDER BY s.created")
            cols = ["model", "question_template", "answer_template", "options", "media_source", "media_hash", "text",
                    "score", "note", "provenance"]
            out = [dict(zip(cols, row)) for row in cur.fetchall()]
        for r in out:
            r["options"] = json.loads(r["options"])
            r["provenance"] = json.loads(r["provenance"])
            r["note"] = json.loads(r["note"]) if r["note"] else None
        return out
