"""Shared constants of the t2v-llama tests (a uniquely named module: conftest names clash across plugins)."""

REPOS = {"vision": "meta-llama/Llama-3.2-11B-Vision-Instruct", "guard": "meta-llama/Llama-Guard-3-11B-Vision"}
NAMES = {"vision": "llama-3.2-11b-vision-instruct", "guard": "llama-guard-3-11b-vision"}
