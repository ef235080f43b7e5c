"""Shared constants of the t2v-hf tests (uniquely named: conftest modules clash across plugins)."""

REPO = "t2v-test/tiny-qwen2-vl"
