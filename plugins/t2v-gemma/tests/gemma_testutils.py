"""Shared constants of the t2v-gemma tests (a uniquely named module: conftest names clash across plugins)."""

REPO = "google/gemma-3-4b-it"
NAME = "gemma-3-4b-it"
