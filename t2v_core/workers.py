"""Worker environments: a family whose pins clash with the current environment scores in its own venv.

A :class:`~t2v_core.ScorerSpec` may declare ``requirements`` (pip requirement strings, e.g.
``("transformers==4.40.2", "timm<1")``). When the current environment does not satisfy them, or when the
user asks (``isolated=True``, ``--isolated``), the scorer runs in a worker process:

- The environment is made once and cached under ``$T2V_ENVS_DIR`` (default ``~/.cache/t2v/envs``), keyed
  by the requirements, the Python version and the parent environment. It is **layered**: a venv that sees the
  parent's packages (torch, t2v-core, the plugin, ...) behind its own, into which only the declared
  requirements are installed, so they shadow the parent's versions. ``uv`` is used when it is on PATH (also
  for another Python version, ``ScorerSpec.python``), plain ``venv`` + ``pip`` otherwise.
- The parent loads and hashes the media once and sends them to the worker over a pipe (pickled: a video file
  travels as its path, an image as its pixels); the worker builds the plugin's scorer and answers
  ``score_groups`` / ``generate`` calls. The user sees the same API, tensors, failures, notes, store keys
  and provenance (which adds the worker environment: its path, requirements and versions).
- A worker that dies mid-call turns the pairs in flight into failures of kind ``worker_crash`` (NaN, never
  a score); the next call starts a new worker. ``close()`` and interpreter exit stop it.

``t2v envs`` lists, creates and removes the cached environments.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import importlib.metadata
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from .errors import T2VError

ENV_VAR = "T2V_ENVS_DIR"


class WorkerError(T2VError, RuntimeError):
    """A worker environment could not be made, or its worker process failed."""


class WorkerCrashedError(WorkerError):
    """The worker process ended in the middle of a call."""


# ------------------------------------------------------------------------------------------ environments


def envs_root() -> Path:
    """Where worker environments are cached."""
    return Path(os.environ.get(ENV_VAR) or Path.home() / ".cache" / "t2v" / "envs").expanduser()


def unsatisfied(requirements: Sequence[str]) -> list[str]:
    """The requirements the current environment does not meet (a missing package counts)."""
    from packaging.requirements import Requirement

    out = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            out.append(text)
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(text)
    return out


def env_key(requirements: Sequence[str], python: str | None = None) -> str:
    """The cache key of an environment: its requirements, Python and the parent environment it layers on."""
    payload = json.dumps([sorted(requirements), python or sysconfig.get_python_version(), sys.prefix])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _parent_site_dirs() -> list[str]:
    dirs = []
    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths()[key]
        if path not in dirs and os.path.isdir(path):
            dirs.append(path)
    return dirs


def _python_of(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_env(requirements: Sequence[str], python: str | None = None) -> Path:
    """The environment for ``requirements`` (made now if it is not cached); returns its Python executable."""
    root = envs_root()
    env = root / env_key(requirements, python)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{env.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes asking for the same environment make it once
        if (env / "t2v-env.json").exists():
            return _python_of(env)
        shutil.rmtree(env, ignore_errors=True)
        t0 = time.perf_counter()
        uv = shutil.which("uv")
        want = python or sysconfig.get_python_version()
        try:
            if uv:
                _check_call([uv, "venv", "--quiet", "--python", want, str(env)], requirements)
            elif want != sysconfig.get_python_version():
                raise WorkerError(f"requirements {list(requirements)} ask for Python {want}, but this is Python "
                                  f"{sysconfig.get_python_version()} and uv is not installed to make another: "
                                  "pip install uv")
            else:
                _check_call([sys.executable, "-m", "venv", str(env)], requirements)
            # layered on the parent: its site dirs (and their .pth files, editable installs included) come after
            # the env's own site-packages, so that only what is installed here shadows the parent's versions
            site = subprocess.run([str(_python_of(env)), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                   "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
            lines = [f"import site; site.addsitedir({d!r})" for d in _parent_site_dirs()]
            Path(site, "t2v-parent.pth").write_text("\n".join(lines) + "\n")
            if requirements:
                if uv:
                    _check_call([uv, "pip", "install", "--quiet", "--python", str(_python_of(env)),
                                 *requirements], requirements)
                else:
                    _check_call([str(_python_of(env)), "-m", "pip", "install", "--quiet",
                                 "--disable-pip-version-check", *requirements], requirements)
        except BaseException:
            shutil.rmtree(env, ignore_errors=True)
            raise
        (env / "t2v-env.json").write_text(json.dumps({
            "requirements": list(requirements), "python": want, "parent": sys.prefix, "created": time.time(),
            "seconds_to_create": round(time.perf_counter() - t0, 2), "tool": "uv" if uv else "venv+pip"}))
    return _python_of(env)


def _check_call(cmd: list[str], requirements: Sequence[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise WorkerError(f"making the worker environment for {list(requirements)} failed: {' '.join(cmd)} "
                          f"exited with {done.returncode}:\n{(done.stderr or done.stdout)[-2000:]}")


def list_envs() -> list[dict[str, Any]]:
    """The cached environments: key, path, requirements, Python, size in bytes."""
    out = []
    root = envs_root()
    for meta in sorted(root.glob("*/t2v-env.json")) if root.exists() else []:
        info = json.loads(meta.read_text())
        size = sum(f.stat().st_size for f in meta.parent.rglob("*") if f.is_file() and not f.is_symlink())
        out.append({"key": meta.parent.name, "path": str(meta.parent), "size": size, **info})
    return out


def remove_env(key: str) -> bool:
    """Delete one cached environment; False if there is none with that key."""
    env = envs_root() / key
    if not (env / "t2v-env.json").exists():
        return False
    shutil.rmtree(env)
    return True


# ------------------------------------------------------------------------------------------ the protocol


def _send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def _recv(stream: BinaryIO) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("the other side closed the pipe")
    (n,) = struct.unpack("<Q", head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError("the other side closed the pipe mid-message")
    return pickle.loads(data)  # noqa: S301 - our own child process, over its private pipe


class Worker:
    """A worker process in an environment, building one scorer and answering calls for it."""

    def __init__(self, python: Path, env_info: dict[str, Any]) -> None:
        self.python = python
        self.env_info = env_info
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (its stdout is the reply pipe; what it prints goes to our stderr)."""
        self.proc = subprocess.Popen([str(self.python), "-m", "t2v_core.workers"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env={**os.environ, "PYTHONNOUSERSITE": "1"})
        atexit.register(self.stop)

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def call(self, op: str, *args: Any) -> Any:
        """Send one request and wait for its reply; the worker's exception is raised here."""
        if not self.alive:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        try:
            _send(self.proc.stdin, (op, args))  # type: ignore[arg-type]
            status, value = _recv(self.proc.stdout)  # type: ignore[arg-type]
        except (EOFError, BrokenPipeError, OSError) as e:
            code = self.proc.wait(timeout=30)
            self.proc = None
            raise WorkerCrashedError(f"the worker process ended (exit code {code}) during {op!r}") from e
        if status == "error":
            raise value
        return value

    def stop(self) -> None:
        """Ask the worker to exit, and make sure it does."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            if proc.poll() is None and proc.stdin is not None:
                _send(proc.stdin, ("close", ()))  # type: ignore[arg-type]
            proc.wait(timeout=10)
        except Exception:
            proc.kill()
            proc.wait()


def _serve_pipe() -> None:
    """The worker's main loop (``python -m t2v_core.workers``)."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the plugin prints goes to stderr, never into the reply pipe
    requests = sys.stdin.buffer
    scorer: Any = None
    while True:
        try:
            op, args = _recv(requests)
        except EOFError:
            return
        if op == "close":
            return
        try:
            if op == "build":
                from . import registry

                name, kwargs = args
                spec = registry.get_spec(name)
                scorer = spec.load_class()(spec=spec, **kwargs)
                value: Any = {"call_options": dict(scorer.call_options), "identity": scorer.identity,
                              "provenance": scorer.provenance, "batch_size": scorer.batch_size,
                              "weights_revision": scorer.weights_revision, "pid": os.getpid()}
            elif op == "score_groups":
                groups, templates, options, batch_size = args
                scorer.batch_size = batch_size
                scorer.failures, scorer.notes = [], []
                results = scorer.score_groups(groups, templates=templates, **options)
                value = ([r.detach().float().cpu() for r in results], scorer.failures, scorer.notes)
            elif op == "generate":
                media, prompts, options = args
                value = scorer.generate_media(media, prompts, **options)
            else:
                raise WorkerError(f"unknown worker request {op!r}")
            reply: tuple[str, Any] = ("ok", value)
        except BaseException as e:  # sent back and raised in the parent
            try:
                pickle.dumps(e)
                reply = ("error", e)
            except Exception:
                reply = ("error", WorkerError(f"{type(e).__name__}: {e}"))
        _send(replies, reply)


if __name__ == "__main__":
    _serve_pipe()
