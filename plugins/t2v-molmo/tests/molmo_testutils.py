"""Shared constants of the t2v-molmo tests (a uniquely named module: conftest names clash)."""

REPO = "allenai/Molmo2-4B"
NAME = "molmo2-4b"
