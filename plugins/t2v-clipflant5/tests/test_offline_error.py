"""Weights not downloaded and the hub offline: one short error naming the model, the repo and `t2v download`."""

from t2v_core.testing import check_offline_error


def test_empty_offline_cache_gives_one_short_error(tmp_path):
    # the tokenizer is looked up first, so it is the repo the message names
    check_offline_error("clip-flant5-xxl", tmp_path, "google/flan-t5-xxl")
