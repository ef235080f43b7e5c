"""Registration through the installed entry point, construction errors, and the conformance kit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from _api_helpers import GEMINI_KEY, KEYS, OPENAI_KEY, build
from t2v_api.models import GEMINI_MODELS, OPENAI_MODELS
from t2v_api.scorer import CredentialsError

import t2v_core
from t2v_core.testing import check_scorer, random_images


def test_models_are_registered_by_the_entry_point() -> None:
    names = set(t2v_core.list_all_vqascore_models())
    assert set(OPENAI_MODELS) | set(GEMINI_MODELS) | {"openai-compatible"} <= names
    from t2v_core import registry

    spec = registry.get_spec("gpt-4o")
    assert spec.plugin == "t2v-api" and spec.media == ("image", "video")
    assert spec.question_template == 'Does this figure show "{}"? Please answer yes or no.'


def test_listing_models_imports_no_client_and_no_torch() -> None:
    code = ("import sys, t2v_core; t2v_core.list_all_vqascore_models(); "
            "bad = [m for m in ('torch', 'openai', 'google.genai') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    env = {**os.environ, "T2V_PLUGINS": "t2v-api"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_missing_key_names_the_environment_variable() -> None:
    with pytest.raises(CredentialsError, match="OPENAI_API_KEY"):
        t2v_core.VQAScore(model="gpt-4o")
    with pytest.raises(CredentialsError, match="GOOGLE_API_KEY or GEMINI_API_KEY"):
        t2v_core.VQAScore(model="gemini-1.5-pro")


def test_keys_come_from_the_environment(server, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    a = t2v_core.VQAScore(model="gpt-4.1-mini", base_url=server.openai_base_url)
    b = t2v_core.VQAScore(model="gemini-2.0-flash", base_url=server.url)
    assert torch.isfinite(a(images=random_images(1), texts=["x"])).all()
    assert torch.isfinite(b(images=random_images(1), texts=["x"])).all()
    assert [r.model for r in server.requests] == ["gpt-4.1-mini", "gemini-2.0-flash"]


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="top_logprob"):
        t2v_core.VQAScore(model="gpt-4o", api_key="sk-x", top_logprob=5)
    with pytest.raises(ValueError, match="top_logprobs must be an integer in 1..20"):
        t2v_core.VQAScore(model="gpt-4o", api_key="sk-x", top_logprobs=50)


def test_openai_compatible_needs_served_model(server) -> None:
    with pytest.raises(ValueError, match="served_model="):
        t2v_core.VQAScore(model="openai-compatible", base_url=server.openai_base_url)
    score = t2v_core.VQAScore(model="openai-compatible", base_url=server.openai_base_url, api_key=OPENAI_KEY,
                              served_model="Qwen/Qwen2.5-VL-7B-Instruct", top_logprobs=40)
    out = score(images=random_images(1), texts=["x"])
    r = server.requests[0]
    assert r.model == "Qwen/Qwen2.5-VL-7B-Instruct" and r.top_logprobs == 40
    assert float(out[0, 0]) == pytest.approx(server.truth_of(r).yes, rel=1e-6)
    assert score.model.usage.cost_usd is None  # no price known for a self-hosted model
    assert score.provenance["options"]["served_model"] == "Qwen/Qwen2.5-VL-7B-Instruct"


def test_self_hosted_server_needs_no_key() -> None:
    from t2v_api.testing import FakeModelServer

    with FakeModelServer(api_keys=("EMPTY",)) as server:
        score = t2v_core.VQAScore(model="openai-compatible", base_url=server.openai_base_url, served_model="llava")
        assert torch.isfinite(score(images=random_images(1), texts=["x"])).all()


@pytest.mark.parametrize("protocol,model", [("openai", "gpt-4o"), ("gemini", "gemini-2.5-flash"),
                                            ("openai", "gpt-4.1-nano"), ("gemini", "gemini-1.5-pro")])
def test_conformance_kit(server, protocol, model) -> None:
    score = build(server, protocol, model)
    report = check_scorer(score, images=random_images(3, seed=11), texts=["a red cube", "two dogs"])
    assert report["max_pairwise_rel_dev"] == 0.0


def test_served_model_separates_stored_scores(server, tmp_path) -> None:
    store = tmp_path / "s.sqlite"
    data = [{"images": random_images(1), "texts": ["x"]}]
    for served in ("model-a", "model-b"):
        score = t2v_core.VQAScore(model="openai-compatible", base_url=server.openai_base_url, api_key=OPENAI_KEY,
                                  served_model=served)
        score.batch_forward(data, store=store)
    assert [r.model for r in server.requests] == ["model-a", "model-b"]  # b did not reuse a's stored score
    with t2v_core.ScoreStore(store) as st:
        assert st.count() == 2
    assert not any(k.encode() in store.read_bytes() for k in KEYS)


def test_scoring_from_inside_a_running_event_loop(server) -> None:
    import asyncio

    score = build(server, "openai")

    async def notebook_cell() -> torch.Tensor:  # Jupyter runs cells inside an event loop
        return score(images=random_images(2), texts=["x"])

    out = asyncio.run(notebook_cell())
    assert torch.isfinite(out).all() and len(server.requests) == 2
