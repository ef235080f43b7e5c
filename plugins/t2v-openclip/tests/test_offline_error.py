"""Weights not downloaded and the hub offline: one short error naming the model, the repo and `t2v download`."""

import pytest

from t2v_core.testing import check_offline_error


@pytest.mark.parametrize("model,repo", [
    ("openai:ViT-B-32", "timm/vit_base_patch32_clip_224.openai"),
    ("hpsv2", "xswu/HPSv2/HPS_v2_compressed.pt"),
    ("pickscore-v1", "yuvalkirstain/PickScore_v1"),
])
def test_empty_offline_cache_gives_one_short_error(tmp_path, model, repo):
    msg = check_offline_error(model, tmp_path, repo)
    if repo.count("/") == 2:  # a file in a repo: the hub's command takes the repo and the file
        assert "`hf download xswu/HPSv2 HPS_v2_compressed.pt`" in msg
