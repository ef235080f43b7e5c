"""One fake offline Hugging Face cache for the whole suite, holding tiny random models under real repo ids.

open_clip builds named architectures from its config registry; the session swaps the entries the tests use
(ViT-B-32, ViT-B-16-SigLIP, ViT-H-14) for tiny configs of the same structure, so the production loading
code runs unchanged on models small enough for a CPU.
"""

from __future__ import annotations

import os

# Load only this plugin's entry point: other plugins in a shared environment cannot break these tests.
os.environ.setdefault("T2V_PLUGINS", "t2v-openclip")
os.environ.setdefault("T2V_PROGRESS", "0")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    """Install the tiny models and point huggingface_hub at them (offline); yields a dict of the models."""
    from t2v_openclip import testing as T

    from t2v_core.testing import offline_hf_cache

    cache = tmp_path_factory.mktemp("hf-hub")
    with offline_hf_cache(cache):
        restores = [
            T.use_tiny_config("ViT-B-32", T.tiny_clip_config()),
            T.use_tiny_config("ViT-H-14", T.tiny_clip_config()),
        ]
        models = {"cache": cache}
        models["openai:ViT-B-32"] = T.install_openclip_model(cache, "ViT-B-32", "openai", seed=1)
        models["laion2b_s34b_b79k:ViT-B-32"] = T.install_openclip_model(cache, "ViT-B-32", "laion2b_s34b_b79k",
                                                                         seed=2)
        siglip_tok = T.install_siglip_tokenizer(cache)
        restores.append(T.use_tiny_config("ViT-B-16-SigLIP", T.tiny_siglip_config(len(siglip_tok))))
        models["siglip_tokenizer"] = siglip_tok
        models["webli:ViT-B-16-SigLIP"] = T.install_openclip_model(cache, "ViT-B-16-SigLIP", "webli", seed=3)
        models["hpsv2"] = T.install_hps(cache, "HPS_v2_compressed.pt", seed=4)
        models["hpsv2.1"] = T.install_hps(cache, "HPS_v2.1_compressed.pt", seed=5)
        models["pickscore"], models["pickscore_processor"] = T.install_pickscore(cache, seed=6)
        try:
            yield models
        finally:
            for restore in restores:
                restore()


@pytest.fixture(scope="session")
def images():
    """Four small RGB images of different sizes and aspect ratios."""
    from t2v_core.testing import random_images

    return random_images(2, size=(64, 48), seed=0) + random_images(1, size=(40, 72), seed=1) \
        + random_images(1, size=(32, 32), seed=2)


TEXTS = ["a photo of a cat", "two dogs playing in the snow", "a red cube on a blue sphere"]


@pytest.fixture(scope="session")
def texts():
    return list(TEXTS)
