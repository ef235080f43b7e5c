"""Fixtures: a scratch modules cache for remote code (set before transformers is imported), plugin selection."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Remote code is imported from HF_MODULES_CACHE, which transformers fixes at import: point it at a scratch
# folder before anything imports transformers (the worker processes inherit it), so tests never write into
# the user's cache.
if "HF_MODULES_CACHE" not in os.environ:
    os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="t2v-remote-modules-")
    atexit.register(shutil.rmtree, os.environ["HF_MODULES_CACHE"], ignore_errors=True)
os.environ.setdefault("T2V_PROGRESS", "0")


import dataclasses  # noqa: E402

import pytest  # noqa: E402

from t2v_core import plugins, registry, workers  # noqa: E402


@pytest.fixture(scope="session")
def envs_dir(tmp_path_factory):
    """One worker-environment cache for the session: every family's tests reuse the same environment."""
    return tmp_path_factory.mktemp("envs")


@pytest.fixture(scope="module")
def worker_specs(envs_dir):
    """This plugin only, worker environments under ``envs_dir``, and each spec's pins replaced, in this process
    only, by none: the tests then ask for ``isolated=True`` and run the same worker machinery (a cached layered
    venv, a worker process that builds the plugin's real spec from its registry) on this environment's
    transformers, instead of installing each family's era pins (network, minutes)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("T2V_PLUGINS", "remote")
        mp.setenv(workers.ENV_VAR, str(envs_dir))
        plugins.reset()
        real_get = registry.get_spec

        def cheap(name):
            spec = real_get(name)
            assert spec.requirements and workers.unsatisfied(spec.requirements)  # the real pins clash here
            return dataclasses.replace(spec, requirements=())

        mp.setattr(registry, "get_spec", cheap)
        yield
        plugins.reset()
