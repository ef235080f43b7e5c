"""Weights not downloaded and the hub offline: one short error naming the model, the repo and `t2v download`."""

from t2v_core.testing import check_offline_error


def test_empty_offline_cache_gives_one_short_error(tmp_path):
    check_offline_error("internvl2.5-1b", tmp_path, "OpenGVLab/InternVL2_5-1B")
    check_offline_error("internvl2-1b", tmp_path, "OpenGVLab/InternVL2-1B", trust_remote_code=True, isolated=False)
