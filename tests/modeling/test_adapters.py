"""LoRA adapters: a no-op at init, only adapters/heads/norms train, save → load round-trips merged."""
import json

import numpy as np
import paddle
import pytest

from roots_zh.modeling import RootsConfig, RootsForSequenceClassification
from roots_zh.modeling.adapters import (ADAPTER_WEIGHTS_NAME, LoraConfig, LoRALinear, apply_lora, merge_lora,
                                        save_adapter, trainable_parameters)
from roots_zh.training.trainer import Trainer, TrainingArgs


def tiny_config(**kw):
    base = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=64, max_position_embeddings=64, num_labels=2,
                id2label={0: "neg", 1: "pos"}, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    base.update(kw)
    return RootsConfig(**base)


@pytest.fixture()
def base_dir(tmp_path):
    paddle.seed(0)
    model = RootsForSequenceClassification(tiny_config())
    return model.save_pretrained(tmp_path / "base")


def _ids(seed=0, batch=4, seq=10):
    return paddle.to_tensor(np.random.RandomState(seed).randint(1, 120, size=(batch, seq)).astype("int64"))


def _features(n=64, seed=1):
    rng = np.random.RandomState(seed)
    feats = []
    for _ in range(n):
        label = int(rng.randint(2))
        ids = rng.randint(1, 60, size=8) + (60 if label else 0)  # the label is readable from the ids
        feats.append({"input_ids": ids.tolist(), "labels": label})
    return feats


def test_lora_is_a_noop_at_init_and_freezes_the_backbone(base_dir):
    model = RootsForSequenceClassification.from_pretrained(base_dir)
    before = model(_ids()).logits.numpy()
    apply_lora(model, LoraConfig(rank=4, embedding_rank=4))
    after = model(_ids()).logits.numpy()
    np.testing.assert_allclose(after, before, atol=1e-6)
    names = {n for n, p in model.named_parameters() if not p.stop_gradient}
    assert any(n.endswith("lora_A") for n in names) and any(n.startswith("classifier.") for n in names)
    assert not any(n.endswith(("word_embeddings.base.weight", "qkv.base.weight")) for n in names)
    assert "roots.embeddings.word_embeddings.lora_A" in names  # a low-rank update of the embeddings
    n_train = sum(int(np.prod(p.shape)) for p in trainable_parameters(model))
    assert n_train < 0.25 * model.num_parameters()


def test_trained_adapter_round_trips_through_save_and_load(base_dir, tmp_path):
    model = RootsForSequenceClassification.from_pretrained(base_dir)
    apply_lora(model, LoraConfig(rank=4, alpha=8, embedding_rank=4))
    frozen_before = model.roots.encoder.layers[0].attention.qkv.base.weight.numpy().copy()
    summary = Trainer(model, TrainingArgs(epochs=3, batch_size=16, learning_rate=5e-3, warmup_ratio=0.0),
                      _features(), pad_ids={"input_ids": 0}).train()
    assert summary["steps"] == 12
    # the backbone stayed frozen, the adapter moved
    np.testing.assert_array_equal(model.roots.encoder.layers[0].attention.qkv.base.weight.numpy(), frozen_before)
    assert np.abs(model.roots.encoder.layers[0].attention.qkv.lora_B.numpy()).max() > 0
    model.eval()
    expected = model(_ids()).logits.numpy()

    out = save_adapter(model, tmp_path / "adapter", base_model=str(base_dir), dtype=None)
    meta = json.loads((out / "adapter_config.json").read_text())
    assert meta["base_model"] == str(base_dir) and meta["rank"] == 4
    full_size = (base_dir / "model.safetensors").stat().st_size
    assert (out / ADAPTER_WEIGHTS_NAME).stat().st_size < 0.5 * full_size

    loaded = RootsForSequenceClassification.from_pretrained(out)
    assert not any(isinstance(l, LoRALinear) for l in loaded.sublayers())  # merged: plain linears
    np.testing.assert_allclose(loaded(_ids()).logits.numpy(), expected, atol=1e-4)
    assert loaded.config.id2label == {0: "neg", 1: "pos"}

    # merging in place gives the same function, and save_pretrained of a LoRA model saves merged weights
    full_dir = model.save_pretrained(tmp_path / "full")
    merge_lora(model)
    np.testing.assert_allclose(model(_ids()).logits.numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(RootsForSequenceClassification.from_pretrained(full_dir)(_ids()).logits.numpy(),
                               expected, atol=1e-4)


def test_adapter_errors_name_the_problem(base_dir, tmp_path):
    with pytest.raises(ValueError, match="rank"):
        LoraConfig(rank=-1)
    with pytest.raises(ValueError, match="targets"):
        apply_lora(RootsForSequenceClassification(tiny_config()), LoraConfig(targets=("nope",)))
    with pytest.raises(ValueError, match="no LoRA adapters"):
        save_adapter(RootsForSequenceClassification(tiny_config()), tmp_path / "x", base_model=str(base_dir))
    model = RootsForSequenceClassification.from_pretrained(base_dir)
    apply_lora(model)
    out = save_adapter(model, tmp_path / "a", base_model=str(base_dir))
    meta = json.loads((out / "adapter_config.json").read_text())
    meta["bogus"] = 1
    (out / "adapter_config.json").write_text(json.dumps(meta))
    (out / "checksums.json").unlink()
    with pytest.raises(ValueError, match="bogus"):
        RootsForSequenceClassification.from_pretrained(out)
    meta.pop("bogus")
    meta["base_model"] = str(tmp_path / "missing_base")
    (out / "adapter_config.json").write_text(json.dumps(meta))
    with pytest.raises((ValueError, FileNotFoundError), match="missing_base"):
        RootsForSequenceClassification.from_pretrained(out)


def test_frozen_embeddings_adapter_ships_everything_but_word_embeddings(base_dir, tmp_path):
    model = RootsForSequenceClassification.from_pretrained(base_dir)
    apply_lora(model, LoraConfig.frozen_embeddings())
    names = {n for n, p in model.named_parameters() if not p.stop_gradient}
    assert "roots.embeddings.word_embeddings.base.weight" not in names
    assert any(n.startswith("roots.encoder.layers.1.") for n in names)
    Trainer(model, TrainingArgs(epochs=1, batch_size=16, learning_rate=5e-3, warmup_ratio=0.0),
            _features(), pad_ids={"input_ids": 0}).train()
    model.eval()
    expected = model(_ids()).logits.numpy()
    out = save_adapter(model, tmp_path / "fe", base_model=str(base_dir), dtype=None)
    np.testing.assert_allclose(RootsForSequenceClassification.from_pretrained(out)(_ids()).logits.numpy(),
                               expected, atol=1e-5)
    with pytest.raises(ValueError, match="full_train"):
        LoraConfig(rank=0, full_train=())


def test_text_classifier_ships_a_small_adapter_over_roots_base(tmp_path):
    from roots_zh.hub import load_registry
    from roots_zh.pipelines.text_classification import TextClassifier

    if "roots-base" not in load_registry():
        pytest.skip("roots-base not shipped")
    texts = ["这家酒店服务很好", "太难吃了，再也不来", "环境优美，推荐", "糟糕透顶的体验"] * 4
    labels = ["正面", "负面", "正面", "负面"] * 4
    clf = TextClassifier.from_pretrained("roots-base", labels=["负面", "正面"], max_length=32)
    clf.fit(texts, labels, adapter="lora", epochs=1, batch_size=8, learning_rate=1e-3)
    expected = clf.predict_proba(texts[:4])
    out = clf.save_pretrained(tmp_path / "clf")
    assert (out / "adapter.safetensors").stat().st_size < 2_000_000  # vs 15 MB for the full fp16 model
    again = TextClassifier.from_pretrained(out)
    np.testing.assert_allclose(again.predict_proba(texts[:4]), expected, atol=2e-3)  # fp16 adapter
    with pytest.raises(ValueError, match="adapter"):
        TextClassifier.from_pretrained("roots-base", labels=["a", "b"]).fit(["x", "y"], ["a", "b"], adapter="qlora")


def test_adapter_model_takes_a_new_label_set(base_dir, tmp_path):
    model = RootsForSequenceClassification.from_pretrained(base_dir)
    apply_lora(model, LoraConfig(rank=4, embedding_rank=4))
    out = save_adapter(model, tmp_path / "a", base_model=str(base_dir))
    three = RootsForSequenceClassification.from_pretrained(out, num_labels=3, id2label={0: "a", 1: "b", 2: "c"})
    assert three.classifier.weight.shape[-1] == 3


def test_adapter_refuses_a_base_it_was_not_trained_on(base_dir, tmp_path):
    model = RootsForSequenceClassification.from_pretrained(base_dir)
    apply_lora(model, LoraConfig(rank=4, embedding_rank=4))
    out = save_adapter(model, tmp_path / "a", base_model=str(base_dir))
    meta = json.loads((out / "adapter_config.json").read_text())
    assert len(meta["base_sha256"]) == 64
    RootsForSequenceClassification.from_pretrained(out)  # the right base loads
    paddle.seed(1)  # retrain the base: same name, other weights
    RootsForSequenceClassification(tiny_config()).save_pretrained(base_dir)
    with pytest.raises(ValueError, match="trained on base weights"):
        RootsForSequenceClassification.from_pretrained(out)


def test_adapter_given_as_a_dict_of_lora_fields():
    """A recipe's JSON names the adapter as LoraConfig fields (e.g. no embedding update: a small adapter)."""
    from roots_zh.modeling.adapters import LoRAEmbedding
    from roots_zh.pipelines.adapter_support import enable_adapter

    model = RootsForSequenceClassification(tiny_config())
    config = enable_adapter(model, {"rank": 4, "embedding_rank": 0})
    assert (config.rank, config.embedding_rank) == (4, 0)
    assert not any(isinstance(layer, LoRAEmbedding) for layer in model.sublayers())
    assert any(isinstance(layer, LoRALinear) and layer.lora_A.shape[1] == 4 for layer in model.sublayers())
    with pytest.raises(ValueError, match="rnak"):
        enable_adapter(RootsForSequenceClassification(tiny_config()), {"rnak": 4})
