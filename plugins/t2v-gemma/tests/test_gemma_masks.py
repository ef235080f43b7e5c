"""t2v-gemma's own whole-prompt attention masks (built with tensor ops instead of transformers' vmap'd mask
functions) against a plain forward in which transformers builds them: tiny Gemma 3 and Gemma 4 checkpoints
whose sliding window is wider than every prompt, the case the masks are built for."""

from __future__ import annotations

import pytest
import test_gemma
import test_gemma4
import torch
from gemma_testutils import NAME, NAME4, REPO, REPO4
from t2v_hf.testing import build_fake_hub, check_scoring_paths, use_fake_hub


@pytest.fixture(scope="module")
def wide_hub(tmp_path_factory):
    from t2v_gemma.testing import build_tiny_gemma3, build_tiny_gemma4

    return build_fake_hub(tmp_path_factory.mktemp("gemma-wide"), {
        "g3": (REPO, lambda f: build_tiny_gemma3(f, sliding_window=4096, seed=7)),
        "g4": (REPO4, lambda f: build_tiny_gemma4(f, per_layer_hidden=0, sliding_window=4096, seed=8)),
    })


@pytest.mark.parametrize("key,name,plain", [("g3", NAME, test_gemma), ("g4", NAME4, test_gemma4)])
def test_whole_prompt_masks_equal_transformers_masks(wide_hub, images, monkeypatch, key, name, plain):
    from t2v_gemma.scorer import GemmaScorer

    hub, folders = wide_hub
    use_fake_hub(monkeypatch, hub)
    processor, model = plain.load_plain(folders[key])
    want = torch.tensor([[plain.plain_score(processor, model, [{"type": "image", "image": im}], t)
                          for t in plain.TEXTS] for im in images])
    built = []
    own = GemmaScorer.whole_prompt_masks

    def spy(self, inputs):
        masks = own(self, inputs)
        built.append(masks is not None)
        return masks

    monkeypatch.setattr(GemmaScorer, "whole_prompt_masks", spy)
    # every path, whole prompts batched with padding among them: equal to transformers' own masks
    check_scoring_paths(name, images, plain.TEXTS, want, monkeypatch)
    assert any(built), "the whole-prompt masks were never built: the test checks nothing"
