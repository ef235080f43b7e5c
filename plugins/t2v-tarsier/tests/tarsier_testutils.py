"""Shared paths and helpers of the t2v-tarsier tests (a uniquely named module: conftest names clash)."""

from __future__ import annotations

from pathlib import Path

import torch

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny-tarsier2"
REPOS = ("omni-research/Tarsier2-7b-0115", "omni-research/Tarsier2-Recap-7b")


def rel(a, b) -> float:
    """Largest relative deviation of ``a`` from ``b``."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())
