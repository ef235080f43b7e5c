"""The environment matrix: the core alone, and each plugin in its own virtualenv with its own pins.

    nox                    # every default session (what CI runs)
    nox -s core            # one session
    nox -s "plugin(qwen-tf449)" -- -k video   # arguments after -- go to pytest
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PY = "3.11"
TORCH_CPU = "constraints/torch-cpu.txt"
TORCH_VISION = "constraints/torch-vision.txt"

# name -> (torch constraints, distributions to install from this repo, extra pip requirements, test folders)
# Each set is commented with why it differs.
PLUGINS: dict[str, tuple[str, list[str], list[str], list[str]]] = {
    # CLIP-FlanT5 needs no torchvision: the CLIP image processor falls back to its PIL backend.
    "clipflant5": (TORCH_CPU, ["plugins/t2v-clipflant5[test]"], [], ["plugins/t2v-clipflant5/tests"]),
    # Qwen on the latest transformers (image golden parity; video against a plain forward), together with
    # the shared transformers VLM scorer it is built on (one environment instead of two saves CI a torch install).
    "qwen": (TORCH_VISION, ["plugins/t2v-hf[test]", "plugins/t2v-qwen[test]"], [],
             ["plugins/t2v-hf/tests", "plugins/t2v-qwen/tests"]),
    # Qwen on the reference's transformers 4.49 (video golden parity).
    "qwen-tf449": (TORCH_VISION, ["plugins/t2v-hf[test]", "plugins/t2v-qwen[test]"], ["transformers==4.49.0"],
                   ["plugins/t2v-hf/tests", "plugins/t2v-qwen/tests"]),
    # LLaVA-1.5 / ShareGPT4V / LLaVA-1.6 (original layouts) and
    # LLaVA-OneVision on t2v-hf (its video processor needs torchvision).
    "llava": (TORCH_VISION, ["plugins/t2v-hf", "plugins/t2v-llava[test]"], [],
              ["plugins/t2v-llava/tests"]),
    # The native transformers families on t2v-hf (PaliGemma, Gemma, Llama-3.2-Vision, Molmo2, ...): one environment
    # (Gemma 4 needs transformers >= 5.10.1, through t2v-gemma's gemma4 extra).
    "native": (TORCH_VISION, ["plugins/t2v-hf", "plugins/t2v-paligemma[test]", "plugins/t2v-gemma[test,gemma4]",
                              "plugins/t2v-llama[test]", "plugins/t2v-perception-lm[test]", "plugins/t2v-molmo[test]"],
               [], ["plugins/t2v-paligemma/tests", "plugins/t2v-gemma/tests", "plugins/t2v-llama/tests",
                    "plugins/t2v-perception-lm/tests", "plugins/t2v-molmo/tests"]),
    # Tarsier2 on the native Qwen2-VL class (load-time key mapping); own numpy/PIL preprocessing, so no
    # torchvision. decord comes with the [test] extra, for the backend parity test.
    "tarsier": (TORCH_CPU, ["plugins/t2v-hf", "plugins/t2v-tarsier[test]"], [], ["plugins/t2v-tarsier/tests"]),
    "internvl": (TORCH_VISION, ["plugins/t2v-hf", "plugins/t2v-internvl[test]"], [], ["plugins/t2v-internvl/tests"]),
    # open_clip imports torchvision.
    "openclip": (TORCH_VISION, ["plugins/t2v-openclip[test]"], [], ["plugins/t2v-openclip/tests"]),
    # InstructBLIP / BLIP-2 on transformers' native classes; own PIL preprocessing, so no torchvision.
    "blip": (TORCH_CPU, ["plugins/t2v-blip[test]"], [], ["plugins/t2v-blip/tests"]),
    # Video CLIP / ITM (LanguageBind, UMT, InternVideo2): our own model code; torchvision for UMT's bicubic
    # resize (the reference's op). decord comes with the [test] extra, for the backend parity tests.
    "videoclip": (TORCH_VISION, ["plugins/t2v-videoclip[test]"], [], ["plugins/t2v-videoclip/tests"]),
    # Hosted models: the official clients only; torch only because the core needs it.
    "api": (TORCH_CPU, ["plugins/t2v-api[test]"], [], ["plugins/t2v-api/tests"]),
    # Remote-code families: their specs pin each era's transformers, so they score in worker environments;
    # the tests run fake remote repos through the worker path on this transformers (torchvision: InternVideo2).
    "remote": (TORCH_VISION, ["plugins/t2v-hf", "plugins/t2v-remote[test]"], [], ["plugins/t2v-remote/tests"]),
    # Benchmarks, run end to end with the example plugin's closed-form scorer.
    "bench": (TORCH_CPU, ["tests/example_plugin", "plugins/t2v-bench[test]"], [], ["plugins/t2v-bench/tests"]),
}

nox.options.sessions = ["lint", "core", "core-oldest", "readme_install"] + [f"plugin({name})" for name in PLUGINS]


SHARED = Path(".nox/_shared")


def _install_torch(session: nox.Session, constraints: str) -> None:
    """Make the torch of ``constraints`` importable in this session, from one install shared by every session.

    torch + torchvision is a 5.5 GB CUDA build; a copy per session filled CI's disk. So torch (with its
    dependencies) is installed once per constraints file into ``.nox/_shared/<name>-<hash>`` with
    ``pip --target``, and each session's site-packages gets a ``.pth`` line pointing there. pip then sees
    torch as installed and leaves it alone; a session that pins a different version of a shared dependency
    (numpy, say) installs it into its own site-packages, which comes first on ``sys.path``. A file lock
    lets two nox processes (CI's two lanes) ask for the same install at once.
    """
    text = Path(constraints).read_text()
    target = SHARED / f"{Path(constraints).stem}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    SHARED.mkdir(parents=True, exist_ok=True)
    with open(SHARED / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            session.run("python", "-m", "pip", "install", "--quiet", "--target", str(target), "-r", constraints)
            (target / ".complete").write_text(text)
    purelib = session.run("python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                          silent=True)
    assert isinstance(purelib, str)
    Path(purelib.strip(), "t2v-shared-torch.pth").write_text(f"{target.resolve()}\n")


@contextmanager
def _discarded_after(session: nox.Session) -> Iterator[None]:
    """With T2V_NOX_DISCARD=1 (CI sets it), delete the session's virtualenv when it ends, passed or failed.

    The disk then holds the shared torch installs and the sessions still running, nothing more.
    """
    try:
        yield
    finally:
        if os.environ.get("T2V_NOX_DISCARD") == "1" and session.virtualenv.location:
            shutil.rmtree(session.virtualenv.location, ignore_errors=True)


@nox.session(name="readme_install", python=PY)
def readme_install(session: nox.Session) -> None:
    """Every install line of the README's "from a clone" block, each in a fresh venv with --no-index, so that
    a line missing a distribution that is on no index (t2v-hf) fails as it would for a user."""
    with _discarded_after(session):
        _install_torch(session, TORCH_CPU)
        ours = [".", *sorted(str(p.parent) for p in Path("plugins").glob("*/pyproject.toml"))]
        # the third-party dependencies once, here; the check's venvs see them and install only our packages
        session.install("-c", TORCH_CPU, *ours, "setuptools>=77", "pyarrow")
        names = [Path(p).resolve().name if p != "." else "t2v-core" for p in ours]
        session.run("python", "-m", "pip", "uninstall", "-y", "-q", *names)
        session.run("python", "scripts/check_readme_install.py", *session.posargs)


@nox.session(python=PY)
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy on the core."""
    with _discarded_after(session):
        session.install("ruff", "mypy", "types-tqdm")
        session.run("ruff", "check", "t2v_core", "tests", "noxfile.py")
        session.run("mypy", "t2v_core")


@nox.session(python=PY)
def core(session: nox.Session) -> None:
    """The core with the example plugin installed for real entry-point discovery; decord for the backend test."""
    with _discarded_after(session):
        _install_torch(session, TORCH_CPU)
        # accelerate: the sharded-run tests launch through `accelerate launch` as well as torchrun
        # tests/worker_plugin pins a tqdm that clashes with this environment: it scores in a worker environment
        session.install("-c", TORCH_CPU, "-e", ".[test,decord,hub,serve]", "tests/example_plugin",
                        "tests/worker_plugin", "accelerate")
        session.run("pytest", "tests", *session.posargs, env={"T2V_PROGRESS": "0"})


#: the oldest release of each of the core's own dependencies that pyproject.toml admits (torch excepted: only
#: the local 2.13 CPU wheel is installable without a multi-GB download, so torch's floor is not run here)
CORE_OLDEST = ["pluggy==1.3.0", "numpy==1.24.4", "pillow==10.0.0", "av==12.0.0", "tqdm==4.64.0",
               "huggingface-hub==0.23.0", "decord==0.6.0", "packaging==21.0"]


@nox.session(name="core-oldest", python=PY)
def core_oldest(session: nox.Session) -> None:
    """The core's tests on the oldest versions of its dependencies that it declares it supports."""
    with _discarded_after(session):
        _install_torch(session, TORCH_CPU)
        session.install("-c", TORCH_CPU, *CORE_OLDEST, "-e", ".[test,decord,hub]", "tests/example_plugin")
        session.run("python", "-c", "import importlib.metadata as m; print({d: m.version(d) for d in "
                    "('pluggy', 'numpy', 'pillow', 'av', 'tqdm', 'huggingface-hub', 'torch')})")
        session.run("pytest", "tests", *session.posargs, env={"T2V_PROGRESS": "0"})


@nox.session(python=PY)
@nox.parametrize("name", list(PLUGINS), ids=list(PLUGINS))
def plugin(session: nox.Session, name: str) -> None:
    """One plugin in its own environment with its own pins."""
    constraints, dists, extra, tests = PLUGINS[name]
    env = {"T2V_PROGRESS": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    with _discarded_after(session):
        _install_torch(session, constraints)
        session.install("-c", constraints, ".", *dists, *extra, "pytest", "pytest-timeout")
        # one pytest run per folder: test folders of different plugins may reuse module names
        for folder in [*tests, "tests/test_catalogue.py"]:
            session.run("pytest", folder, *session.posargs, env=env)
