"""Every recipe under tasks/ names its kind one way (``"kind"``), and the runner rejects anything else."""
import json
from pathlib import Path

import numpy as np
import pytest

from roots_zh.recipes import RECIPE_FILES, RECIPE_KINDS, TASKS_DIR, load_recipe, recipe_kind


def test_every_recipe_has_a_valid_kind():
    tasks = [p.parent.name for p in TASKS_DIR.glob("*/recipe.json")] + list(RECIPE_FILES)
    assert len(tasks) >= 12
    for task in tasks:
        recipe = load_recipe(task)
        assert recipe_kind(recipe) in RECIPE_KINDS and "pipeline" not in recipe, task
    with pytest.raises(ValueError, match="kind"):
        recipe_kind({"pipeline": "summarizer"})
    assert json.loads(Path(TASKS_DIR / "translation" / "recipe.json").read_text())["kind"] == "translation"


def test_bidirectional_translation_recipe_trains_and_scores_both_ways(tmp_path, shared_data_dir):
    from roots_zh.hub import load_registry
    from roots_zh.recipes import run_recipe

    if "roots-base" not in load_registry():
        pytest.skip("roots-base not shipped")
    overrides = {"max_steps": 1, "eval_every": 1000, "eval_limit": 2, "test_limit": 2, "batch_size": 4,
                 "test_sets": [["tatoeba", "test"]], "max_source_length": 24, "max_target_length": 24}
    result = run_recipe("translation_bidirectional", "roots-base", "pretrained", tmp_path / "run", shared_data_dir,
                        overrides, limit=8)
    assert set(result["train_report"]) == {"zh_en/train", "zh_en/train en-zh"}
    assert result["test"]["tatoeba/test"]["model"]["signature_tokenize"] == "13a"  # English references
    assert result["test"]["tatoeba/test en-zh"]["model"]["signature_tokenize"] == "zh"
    source = result["test"]["tatoeba/test en-zh"]["examples"][0]["text"]
    assert source.isascii()  # en-zh test inputs are the English side
    saved = json.loads((tmp_path / "run" / "final" / "seq2seq_config.json").read_text())
    assert saved["direction"] == "zh-en"  # the first direction is the pipeline's default


def test_ner_recipe_with_crf_saves_a_crf_model(tmp_path, shared_data_dir):
    from roots_zh.hub import load_registry
    from roots_zh.pipelines.token_classification import TokenClassifier
    from roots_zh.recipes import run_recipe

    if "roots-base" not in load_registry():
        pytest.skip("roots-base not shipped")
    overrides = {"crf": True, "max_steps": 2, "epochs": 1, "batch_size": 4, "eval_every": 1000}
    result = run_recipe("cluener", "roots-base", "pretrained", tmp_path / "run", shared_data_dir, overrides, limit=8)
    assert result["recipe"]["crf"] is True and 0.0 <= result["dev"]["f1"] <= 1.0
    pipe = TokenClassifier.from_pretrained(tmp_path / "run" / "final")
    assert pipe.model.config.crf and pipe.crf_scores.shape == (len(pipe.tags) + 2, len(pipe.tags))
    assert np.abs(pipe.crf_scores).max() > 0  # two steps at the CRF's learning rate move the scores


def test_distill_recipe_names_its_teachers_and_refuses_unknown_fields():
    from roots_zh.recipes import _distill

    spec = load_recipe("tnews_distill")["distill"]
    assert spec["teachers"] and 0 <= spec["alpha"] <= 1 and spec["temperature"] > 0
    for bad in ({"temperature": 2.0}, {"teachers": ["x"], "temprature": 2.0}):
        with pytest.raises(ValueError, match="distill"):
            _distill(None, bad, Path("."), [], [], None, [], [], None, "out", {})


def test_lexical_recipe_keeps_the_encoder_and_adds_a_saved_leg(tmp_path, shared_data_dir):
    pytest.importorskip("sklearn")
    from roots_zh.hub import load_registry
    from roots_zh.pipelines.text_classification import TextClassifier
    from roots_zh.recipes import _fit_lexical, run_recipe

    if "roots-tnews" not in load_registry():
        pytest.skip("roots-tnews not shipped")
    result = run_recipe("tnews_lexical", "roots-tnews", "pretrained", tmp_path / "run", shared_data_dir,
                        {"lexical": {"weight": 0.5, "max_features": 500}}, limit=300, eval_limit=60)
    assert result["lexical"] == {"features": 500, "weight": 0.5}
    assert 0.0 <= result["dev_encoder"]["accuracy"] <= 1.0 and 0.0 <= result["dev"]["accuracy"] <= 1.0
    assert "train_summary" not in result and not (tmp_path / "run" / "best").exists()  # epochs 0: no training
    again = TextClassifier.from_pretrained(tmp_path / "run" / "final")
    assert again.lexical is not None and len(again.lexical.hashes) == 500 and again.lexical_weight == 0.5
    with pytest.raises(ValueError, match="lexical"):
        _fit_lexical(None, {"wieght": 0.5}, [], [], None)


@pytest.mark.parametrize("task", ["similarity", "similarity_cosent"])
def test_similarity_recipes_hold_out_threshold_pairs_and_save_an_adapter(task, tmp_path, shared_data_dir):
    """Both objectives run on the real pairs; the threshold is tuned on training pairs kept out of training."""
    from roots_zh.hub import load_registry
    from roots_zh.pipelines.text_similarity import TextSimilarity
    from roots_zh.recipes import run_recipe

    if "roots-base" not in load_registry():
        pytest.skip("roots-base not shipped")
    overrides = {"max_steps": 2, "batch_size": 8, "eval_every": 1000, "threshold_holdout": 40}
    result = run_recipe(task, "roots-base", "pretrained", tmp_path / "run", shared_data_dir, overrides,
                        limit=48, eval_limit=40)
    assert result["threshold_pairs"]["n"] == 40 and result["dev"]["n"] == 40 and result["train_rows"]["used"] == 48
    assert (result["train_rows"]["single_texts"] > 0) == (task == "similarity")
    sim = TextSimilarity.from_pretrained(tmp_path / "run" / "final")
    assert sim.threshold == result["threshold"] and (tmp_path / "run" / "final" / "adapter_config.json").is_file()
