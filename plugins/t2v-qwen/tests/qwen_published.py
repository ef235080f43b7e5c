"""Behaviour-changing non-weight files of the published Qwen repos, written into every tiny test checkpoint.

Where the values come from: the published repos cannot be downloaded in this project's test environment (no
hub access), so these are the fields recorded by the reference fixture's author from the real
``Qwen/Qwen2-VL-*-Instruct`` / ``Qwen/Qwen2.5-VL-*-Instruct`` ``generation_config.json`` files, as shipped in
``fixtures/golden/with-generation-config/generation_config.json`` (and described in the fixture README, section
"With the published generation config"): ``repetition_penalty: 1.05`` plus sampling fields that greedy
decoding ignores. The chat template and image/video processor settings the tiny checkpoints carry are the
Qwen ones (t2v_hf.testing); their pixel bounds are shrunk on purpose so tests stay fast.

Qwen3-VL: no copy of its published generation config was available to check, so the tiny Qwen3-VL checkpoint
keeps a plain one; the scorer applies whatever the downloaded config carries either way.
"""

from __future__ import annotations

import json
from pathlib import Path

_FILE = Path(__file__).parent / "fixtures" / "golden" / "with-generation-config" / "generation_config.json"
# fields of the published file that are not the checkpoint's own special-token ids
QWEN2_VL_GENERATION = {k: v for k, v in json.loads(_FILE.read_text()).items()
                       if k in ("do_sample", "repetition_penalty", "temperature", "top_k", "top_p")}
assert QWEN2_VL_GENERATION["repetition_penalty"] == 1.05

PUBLISHED_GENERATION = {"qwen2_vl": QWEN2_VL_GENERATION, "qwen2_5_vl": QWEN2_VL_GENERATION, "qwen3_vl": None}
