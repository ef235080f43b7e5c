"""Shared constants of the t2v-perception-lm tests (a uniquely named module: conftest names clash)."""

REPO = "facebook/Perception-LM-1B"
NAME = "perception-lm-1b"
