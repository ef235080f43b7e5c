"""Shared constants of the t2v-paligemma tests (a uniquely named module: conftest names clash across plugins)."""

# version -> the repo id the tiny checkpoint is cached under
REPOS = {1: "google/paligemma-3b-mix-224", 2: "google/paligemma2-3b-mix-224"}
NAMES = {1: "paligemma-3b-mix-224", 2: "paligemma2-3b-mix-224"}
