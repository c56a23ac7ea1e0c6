"""The `paddlenlp_same_size` accuracy baseline: PaddleNLP's ERNIE classifier sized like roots-base,
random init, trained by the ROOTS fine-tuning loop; skipped (not crashed) without paddlenlp."""
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, shared_data

paddle = pytest.importorskip("paddle")

from bench import accuracy, finetune_results  # noqa: E402
from bench.common import BaselineSkipped  # noqa: E402
from bench.paddlenlp_same_size import build_classifier, ernie_config_kwargs, parameter_count  # noqa: E402
from roots_zh.modeling import RootsConfig, RootsForSequenceClassification  # noqa: E402

ROOTS_BASE = REPO_ROOT / "pretrained" / "roots-base"
TINY = dict(vocab_size=16000, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=512, type_vocab_size=2)


def _roots_base_config(num_labels: int = 2) -> RootsConfig:
    if not (ROOTS_BASE / "config.json").is_file():
        pytest.skip("pretrained/roots-base not in this checkout")
    labels = {i: f"l{i}" for i in range(num_labels)}
    return RootsConfig.from_pretrained(ROOTS_BASE, num_labels=num_labels, id2label=labels)


def test_ernie_config_has_roots_base_sizes():
    kwargs = ernie_config_kwargs(_roots_base_config(15))
    assert {k: kwargs[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                                   "vocab_size", "max_position_embeddings", "type_vocab_size", "num_labels")} == {
        "hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024,
        "vocab_size": 16000, "max_position_embeddings": 512, "type_vocab_size": 2, "num_labels": 15}
    assert kwargs["hidden_act"] == "gelu" and kwargs["return_dict"] is True


def test_ernie_config_rejects_bad_input():
    with pytest.raises(ValueError, match="lacks"):
        ernie_config_kwargs(object())
    with pytest.raises(ValueError, match="num_labels"):
        ernie_config_kwargs(RootsConfig(**TINY, num_labels=1))


def test_same_size_parameter_count_matches_roots():
    pytest.importorskip("paddlenlp.transformers")
    config = _roots_base_config()
    ernie, roots = build_classifier(config), RootsForSequenceClassification(config)
    n_ernie, n_roots = parameter_count(ernie), parameter_count(roots)
    print(f"parameters: PaddleNLP ErnieForSequenceClassification {n_ernie:,}, "
          f"RootsForSequenceClassification {n_roots:,}")
    assert abs(n_ernie - n_roots) <= 0.02 * n_roots
    assert ernie.config.hidden_size == 256 and ernie.config.num_hidden_layers == 4


def test_paddlenlp_model_follows_the_roots_forward_contract():
    pytest.importorskip("paddlenlp.transformers")
    model = build_classifier(RootsConfig(**TINY, num_labels=3))
    ids = paddle.to_tensor([[2, 50, 60, 3, 0], [2, 70, 3, 0, 0]])
    out = model(input_ids=ids, token_type_ids=paddle.zeros_like(ids), attention_mask=(ids != 0).astype("int64"),
                labels=paddle.to_tensor([0, 2]))
    assert out.logits.shape == [2, 3] and float(out.loss) > 0


def test_missing_paddlenlp_is_reported_as_skipped(monkeypatch):
    monkeypatch.setitem(sys.modules, "paddlenlp", None)
    monkeypatch.setitem(sys.modules, "paddlenlp.transformers", None)
    with pytest.raises(BaselineSkipped, match="paddlenlp is not importable"):
        build_classifier(RootsConfig(**TINY, num_labels=2))


def test_run_baselines_reports_skips_and_respects_modes(monkeypatch):
    def skipped(spec, root, limit):
        raise BaselineSkipped("paddlenlp is not importable (test)")

    monkeypatch.setitem(accuracy.BASELINES, "paddlenlp_same_size", skipped)
    monkeypatch.setitem(accuracy.BASELINES, "tfidf_lr", lambda spec, root, limit: {"accuracy": 0.5})
    spec = {"metric": "accuracy", "baselines": ["tfidf_lr", "paddlenlp_same_size"]}
    scores, why = accuracy.run_baselines("t", spec, Path("."), None)
    assert scores == {"tfidf_lr": 50.0} and why == ["t: baseline paddlenlp_same_size skipped: "
                                                    "paddlenlp is not importable (test)"]
    assert accuracy.run_baselines("t", spec, Path("."), 10, quick=True) == ({"tfidf_lr": 50.0}, [])
    assert accuracy.run_baselines("t", spec, Path("."), None, skip=["paddlenlp_same_size"]) == ({"tfidf_lr": 50.0}, [])
    with pytest.raises(ValueError, match="unknown baselines"):
        accuracy.run_baselines("t", {**spec, "baselines": ["nope"]}, Path("."), None)


def test_classification_tasks_declare_the_baseline():
    specs = accuracy.task_specs(["chnsenticorp", "tnews", "afqmc"])
    assert all("paddlenlp_same_size" in spec["baselines"] for spec in specs.values()) and len(specs) == 3


@pytest.mark.slow
def test_paddlenlp_baseline_trains_on_chnsenticorp(tmp_path):
    """The baseline's training path (``tools/finetune.py --init paddlenlp``) on a tiny config and
    64 ChnSentiCorp examples: best dev, then test, in the shape the finetune section renders."""
    pytest.importorskip("paddlenlp.transformers")
    root = shared_data()
    from finetune import run as finetune_run, save_result

    from roots_zh.modeling import RootsModel
    from roots_zh.tokenization.auto import AutoTokenizer

    if not (ROOTS_BASE / "spm.model").is_file():
        pytest.skip("roots-base tokenizer not in this checkout")
    tiny = tmp_path / "tiny"
    RootsModel(RootsConfig(**TINY)).save_pretrained(tiny)
    AutoTokenizer.from_pretrained(ROOTS_BASE).save_pretrained(tiny)
    overrides = {"epochs": 1, "batch_size": 16, "eval_every": 2, "max_length": 64}
    result = finetune_run("chnsenticorp", str(tiny), "paddlenlp", tmp_path / "out", root, overrides, limit=64)
    assert result["init"] == "paddlenlp" and result["recipe"]["seed"] == 42
    assert result["dev"]["step"] in (2, 4) and 0.0 <= result["dev"]["accuracy"] <= 1.0
    assert result["test"]["n"] == 1200 and 0.0 <= result["test"]["accuracy"] <= 1.0
    save_result(result, results_dir=tmp_path)
    md = finetune_results.markdown_from_results(tmp_path)
    assert "PaddleNLP ERNIE" in md and "| chnsenticorp | test (1,200) |" in md
