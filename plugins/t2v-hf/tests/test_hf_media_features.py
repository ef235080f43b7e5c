"""t2v_hf.media_features: get_image_features memoised per key, per thread, with the wrapped signature kept."""

from __future__ import annotations

import inspect
import threading

import torch
from t2v_hf.media_features import MediaFeatureMemo


class Inner(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 3)
        self.calls = 0

    def get_image_features(self, pixel_values: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        self.calls += 1
        return self.proj(pixel_values) * scale


class Outer(torch.nn.Module):
    """transformers 5.x's layout: the outer model delegates to the inner one."""

    def __init__(self) -> None:
        super().__init__()
        self.model = Inner()

    def get_image_features(self, pixel_values: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return self.model.get_image_features(pixel_values, scale=scale)


def test_one_computation_per_key_through_both_layers():
    model = Outer()
    memo = MediaFeatureMemo(model)
    assert memo.installed and len(memo.owners) == 2
    x, y = torch.randn(2, 4), torch.randn(2, 4)
    want_x, want_y = model.model.proj(x), model.model.proj(y)
    with memo.using("a"):
        first = model.get_image_features(x)
        again = model.model.get_image_features(x)  # the inner layer answers from the same entry
    with memo.using("b"):
        other = model.get_image_features(y)
    assert model.model.calls == 2 and memo.computed == 2
    assert torch.equal(first, want_x) and again is first and torch.equal(other, want_y)
    memo.release("a")
    with memo.using("a"):
        model.get_image_features(x)
    assert model.model.calls == 3  # released: computed again


def test_no_key_passes_through_and_state_is_per_thread():
    model = Outer()
    memo = MediaFeatureMemo(model)
    x = torch.randn(1, 4)
    model.get_image_features(x)
    model.get_image_features(x)
    assert model.model.calls == 2 and memo.computed == 0  # no key: every call runs
    seen = []
    with memo.using("k"):
        model.get_image_features(x)
        thread = threading.Thread(target=lambda: seen.append(model.get_image_features(x * 2)))
        thread.start()
        thread.join()
    assert model.model.calls == 4  # the other thread set no key: it was not answered from this one's entry
    assert torch.allclose(seen[0], model.model.proj(x * 2))
    memo.clear()
    with memo.using("k"):
        model.get_image_features(x)
    assert model.model.calls == 5


def test_signature_kept_for_generate():
    model = Outer()
    MediaFeatureMemo(model)
    assert list(inspect.signature(model.get_image_features).parameters) == ["pixel_values", "scale"]
    assert MediaFeatureMemo(model).owners == []  # already wrapped: not wrapped twice


def test_model_without_the_method():
    assert not MediaFeatureMemo(torch.nn.Linear(2, 2)).installed
