"""Weights not downloaded and the hub offline: one short error naming the model, the repo and `t2v download`."""

from t2v_core.testing import check_offline_error


def test_empty_offline_cache_gives_one_short_error(tmp_path):
    check_offline_error("qwen2-vl-2b", tmp_path, "Qwen/Qwen2-VL-2B-Instruct")
