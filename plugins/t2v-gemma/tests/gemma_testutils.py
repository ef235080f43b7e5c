"""Shared constants of the t2v-gemma tests (a uniquely named module: conftest names clash across plugins)."""

REPO = "google/gemma-3-4b-it"
NAME = "gemma-3-4b-it"

# Gemma 4: the 31B's layout (image tokens bidirectional, no per-layer inputs) under its repo id, and the E2B's
# (per-layer inputs, causal image tokens) with a template that leaves the empty thinking channel to the model
REPO4 = "google/gemma-4-31B-it"
NAME4 = "gemma-4-31b-it"
REPO4_E2B = "google/gemma-4-E2B-it"
NAME4_E2B = "gemma-4-e2b-it"
# the 12B: encoder-free Gemma4UnifiedForConditionalGeneration
REPO4_12B = "google/gemma-4-12B-it"
NAME4_12B = "gemma-4-12b-it"
