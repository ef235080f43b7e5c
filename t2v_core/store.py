"""A score store: one SQLite file holding every computed score with how it was made, so that a killed run
resumes where it stopped, nothing is computed twice, and every number can say where it came from."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


class ScoreStore:
    """SQLite-backed store of scores. Safe to share between threads of one process; each write commits."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.executescript(SCHEMA)
        # stores written before notes existed lack the column; a NULL note means an exact score
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(scores)")}
        if "note" not in columns:
            self._db.execute("ALTER TABLE scores ADD COLUMN note TEXT")
        self._db.commit()

    def close(self) -> None:
        """Close the database file."""
        self._db.close()

    def __enter__(self) -> ScoreStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def add_provenance(self, provenance: dict[str, Any]) -> str:
        """Record a provenance dict once; returns its id (a hash of its content)."""
        text = _canonical(provenance)
        pid = hashlib.sha256(text.encode()).hexdigest()[:16]
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO provenance (id, json) VALUES (?, ?)", (pid, text))
            self._db.commit()
        return pid

    def get_entries(self, keys: Iterable[str]) -> dict[str, tuple[float, dict[str, Any] | None]]:
        """The stored scores among ``keys``, each with its note (``None`` for an exact score)."""
        keys = list(keys)
        out: dict[str, tuple[float, dict[str, Any] | None]] = {}
        with self._lock:
            for s in range(0, len(keys), 500):
                chunk = keys[s:s + 500]
                q = f"SELECT key, score, note FROM scores WHERE key IN ({','.join('?' * len(chunk))})"
                for key, score, note in self._db.execute(q, chunk).fetchall():
                    out[key] = (score, json.loads(note) if note else None)
        return out

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
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO scores (key, model, question_template, answer_template, options, media_hash,"
                " media_source, text, score, provenance_id, created, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", data)
            self._db.commit()
        return len(data)

    def put_failures(self, rows: Iterable[dict[str, Any]]) -> None:
        """Record failed pairs (kept for the record; they do not count as computed)."""
        now = time.time()
        data = [(r["key"], r["model"], r.get("media_source"), r["text"], r["error"], r.get("kind"), now) for r in rows]
        with self._lock:
            self._db.executemany("INSERT INTO failures (key, model, media_source, text, error, kind, created)"
                                 " VALUES (?,?,?,?,?,?,?)", data)
            self._db.commit()

    def count(self) -> int:
        """How many scores are stored."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    def rows(self) -> list[dict[str, Any]]:
        """Every stored score with its provenance, oldest first."""
        with self._lock:
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
