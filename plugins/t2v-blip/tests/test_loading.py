"""Offline loading by real repo id, and the Q-Former tokenizer really read from its subfolder."""

from __future__ import annotations

import shutil

import pytest
from _blip_helpers import BLIP2_REPO, INSTRUCTBLIP_REPO, copy_hub, snapshot

import t2v_core
from t2v_core.testing import offline_hf_cache


def test_loaded_by_repo_id_from_the_offline_cache(instructblip, itm, offline_hub):
    assert instructblip.model.weights_revision == snapshot(offline_hub, INSTRUCTBLIP_REPO).name
    assert itm.model.weights_revision == snapshot(offline_hub, BLIP2_REPO).name
    assert instructblip.provenance["weights"] == [INSTRUCTBLIP_REPO]


def test_qformer_tokenizer_is_the_bert_one_from_its_subfolder(instructblip, offline_hub):
    scorer = instructblip.model
    assert scorer.qformer_tokenizer.convert_tokens_to_ids("[DEC]") == 144
    assert scorer.qformer_tokenizer.get_vocab() != scorer.t5_tokenizer.get_vocab()
    assert (
        scorer.qformer_tokenizer.truncation_side == "left" and scorer.t5_tokenizer.truncation_side == "left"
    )
    assert scorer.t5_output_tokenizer.truncation_side == "right"
    # BERT ids of the question: [CLS] ... [SEP], nothing of T5's '</s>'
    ids = scorer.qformer_tokenizer("a red cube").input_ids
    assert (
        ids[0] == scorer.qformer_tokenizer.cls_token_id and ids[-1] == scorer.qformer_tokenizer.sep_token_id
    )


def test_missing_qformer_tokenizer_is_an_error(tmp_path, offline_hub):
    """A cache without the subfolder (or without the markers an online fill leaves) is refused, not papered
    over with the T5 tokenizer."""
    for what in ("folder", "marker"):
        cache = copy_hub(tmp_path / what)
        repo = cache / f"models--{INSTRUCTBLIP_REPO.replace('/', '--')}"
        if what == "folder":
            shutil.rmtree(snapshot(cache, INSTRUCTBLIP_REPO) / "qformer_tokenizer")
        else:
            for p in repo.glob(".no_exist/*/qformer_tokenizer/config.json"):
                p.unlink()
        # files missing offline: the front-end's one-line error (the repo, `t2v download`), caused by the
        # plugin's own error naming the subfolder; files present but unusable: the plugin's error itself
        with (
            offline_hf_cache(cache),
            pytest.raises((RuntimeError, t2v_core.WeightsNotFoundError)) as err,
        ):
            t2v_core.VQAScore(model="instructblip-flant5-xl", device="cpu")
        plugin_error = err.value if isinstance(err.value, RuntimeError) else err.value.__cause__
        assert isinstance(plugin_error, RuntimeError)
        assert "Q-Former tokenizer" in str(plugin_error) and "qformer_tokenizer" in str(plugin_error)
        if isinstance(err.value, t2v_core.WeightsNotFoundError):
            assert INSTRUCTBLIP_REPO in str(err.value)


def test_t5_tokenizer_as_qformer_tokenizer_is_refused(instructblip):
    from t2v_blip.scorer import check_qformer_tokenizer

    scorer = instructblip.model
    with pytest.raises(RuntimeError, match="not a BERT tokenizer.*T5 tokenizer"):
        check_qformer_tokenizer(scorer.t5_tokenizer, scorer.t5_tokenizer, 145, "here")
    check_qformer_tokenizer(scorer.qformer_tokenizer, scorer.t5_tokenizer, 145, "here")  # the real one passes


def test_unknown_option_is_refused(offline_hub):
    with pytest.raises(TypeError, match="unexpected option.*'colour'"):
        t2v_core.ITMScore(model="blip2-itm", device="cpu", colour="red")
    with pytest.raises(ValueError, match="float16"):
        t2v_core.VQAScore(model="instructblip-flant5-xl", device="cpu", dtype="fp16")
