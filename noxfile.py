"""The environment matrix: the core alone, and each plugin in its own virtualenv with its own pins.

    nox                    # every default session (what CI runs)
    nox -s core            # one session
    nox -s "plugin(qwen-tf449)" -- -k video   # arguments after -- go to pytest
"""

from __future__ import annotations

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
    "internvl": (TORCH_VISION, ["plugins/t2v-hf", "plugins/t2v-internvl[test]"], [], ["plugins/t2v-internvl/tests"]),
    # open_clip imports torchvision.
    "openclip": (TORCH_VISION, ["plugins/t2v-openclip[test]"], [], ["plugins/t2v-openclip/tests"]),
    # Hosted models: the official clients only; torch only because the core needs it.
    "api": (TORCH_CPU, ["plugins/t2v-api[test]"], [], ["plugins/t2v-api/tests"]),
    # Benchmarks, run end to end with the example plugin's closed-form scorer.
    "bench": (TORCH_CPU, ["tests/example_plugin", "plugins/t2v-bench[test]"], [], ["plugins/t2v-bench/tests"]),
}

nox.options.sessions = ["lint", "core"] + [f"plugin({name})" for name in PLUGINS]


def _install_torch(session: nox.Session, constraints: str) -> None:
    # Torch first, from the constraints file, so that no later requirement drags in a multi-GB CUDA build.
    session.install("-r", constraints)


@nox.session(python=PY)
def lint(session: nox.Session) -> None:
    """ruff on everything, mypy on the core."""
    session.install("ruff", "mypy", "types-tqdm")
    session.run("ruff", "check", "t2v_core", "tests", "noxfile.py")
    session.run("mypy", "t2v_core")


@nox.session(python=PY)
def core(session: nox.Session) -> None:
    """The core with the example plugin installed for real entry-point discovery; decord for the backend test."""
    _install_torch(session, TORCH_CPU)
    session.install("-c", TORCH_CPU, "-e", ".[test,decord,hub]", "tests/example_plugin")
    session.run("pytest", "tests", *session.posargs, env={"T2V_PROGRESS": "0"})


@nox.session(python=PY)
@nox.parametrize("name", list(PLUGINS), ids=list(PLUGINS))
def plugin(session: nox.Session, name: str) -> None:
    """One plugin in its own environment with its own pins."""
    constraints, dists, extra, tests = PLUGINS[name]
    _install_torch(session, constraints)
    session.install("-c", constraints, ".", *dists, *extra, "pytest", "pytest-timeout")
    env = {"T2V_PROGRESS": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    # one pytest run per folder: test folders of different plugins may reuse module names
    for folder in [*tests, "tests/test_catalogue.py"]:
        session.run("pytest", folder, *session.posargs, env=env)
