"""Int8 weight-only checkpoints: error bounds, size, flag-free loading in every head and under an
adapter, clear errors for malformed files, ``tools/ship_model.py --weight-dtype int8``, and the
shipped roots-sentiment model's predictions after an int8 round trip."""
import json
from pathlib import Path

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from safetensors import safe_open  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

from roots_zh import (RootsConfig, RootsForMaskedLM, RootsForPrefixLM, RootsForQuestionAnswering,  # noqa: E402
                      RootsForSequenceClassification, RootsForTokenClassification, RootsModel)
from roots_zh.modeling import checkpoint, quantize  # noqa: E402
from roots_zh.modeling.adapters import LoraConfig, apply_lora, save_adapter  # noqa: E402
from roots_zh.modeling.quantize import SCALE_SUFFIX  # noqa: E402

WORD = "roots.embeddings.word_embeddings.weight"
QKV = "roots.encoder.layers.0.attention.qkv.weight"


def tiny_config(**kw) -> RootsConfig:
    base = dict(vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=128, max_position_embeddings=64, num_labels=3,
                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    base.update(kw)
    return RootsConfig(**base)


def ids(batch: int = 4, seq: int = 12, seed: int = 0) -> paddle.Tensor:
    return paddle.to_tensor(np.random.default_rng(seed).integers(1, 300, size=(batch, seq)))


def metadata(path: Path) -> dict:
    with safe_open(str(path), framework="numpy") as fh:
        return dict(fh.metadata() or {})


@pytest.fixture()
def int8_dir(tmp_path) -> Path:
    paddle.seed(0)
    return RootsForSequenceClassification(tiny_config()).save_pretrained(tmp_path / "int8", dtype="int8")


# ---------------------------------------------------------------- quantization maths
@pytest.mark.parametrize("shape", [(256, 1024), (1024, 256), (300, 64), (16, 16)])
def test_round_trip_error_is_bounded_per_slice(shape):
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.02, size=shape).astype(np.float32) * rng.lognormal(0, 1, size=(shape[0], 1))
    w[3] = 0.0  # an all-zero row must survive (scale 0)
    q, scale = quantize.quantize_tensor("w", w)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and np.abs(q).max() <= 127
    axis = 1 if scale.shape == (shape[0], 1) else 0
    assert scale.shape in ((shape[0], 1), (1, shape[1]))
    err = np.abs(quantize.dequantize(q, scale) - w)
    peak = np.abs(w).max(axis=axis, keepdims=True)
    assert (err <= peak / 254 * (1 + 1e-5)).all()  # half a step: well under 1/127 of the slice max
    nonzero = np.broadcast_to(peak > 0, w.shape)
    assert (err[nonzero] < np.broadcast_to(peak / 127, w.shape)[nonzero]).all()
    # the chosen axis is the one with the lower squared error
    other = quantize.dequantize(*quantize.quantize_along(w, 1 - axis))
    assert np.square(err).sum() <= np.square(other - w).sum()


def test_axis_follows_where_the_magnitudes_vary():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(64, 48)).astype(np.float32)
    by_row = base * np.logspace(-3, 0, 64, dtype=np.float32)[:, None]
    by_col = base * np.logspace(-3, 0, 48, dtype=np.float32)[None, :]
    assert quantize.quantize_tensor("r", by_row)[1].shape == (64, 1)
    assert quantize.quantize_tensor("c", by_col)[1].shape == (1, 48)


def test_non_finite_weights_are_refused():
    w = np.ones((16, 16), np.float32)
    w[2, 5] = np.nan
    with pytest.raises(ValueError, match="'bad'.*NaN"):
        quantize.quantize_tensor("bad", w)


def test_layout_big_matrices_int8_the_rest_fp16(int8_dir):
    raw = load_file(str(int8_dir / "model.safetensors"))
    assert metadata(int8_dir / "model.safetensors") == {"format": "roots", "roots_weight_dtype": "int8"}
    for name in (WORD, QKV, "roots.embeddings.position_embeddings.weight", "roots.pooler.dense.weight",
                 "roots.encoder.layers.1.ffn.fc2.weight"):
        assert raw[name].dtype == np.int8 and raw[name + SCALE_SUFFIX].dtype == np.float32
    for name in ("classifier.weight", "classifier.bias", "roots.embeddings.token_type_embeddings.weight",
                 "roots.encoder.layers.0.attention.qkv.bias", "roots.encoder.layers.0.ffn_norm.weight"):
        assert raw[name].dtype == np.float16 and name + SCALE_SUFFIX not in raw


# ---------------------------------------------------------------- models
def test_sequence_classifier_round_trip_logits_and_argmax(tmp_path):
    paddle.seed(0)
    model = RootsForSequenceClassification(tiny_config())
    model.eval()
    x = ids(batch=64, seq=16)
    ref = model(x).logits.numpy()
    model.save_pretrained(tmp_path / "q", dtype="int8")
    got = RootsForSequenceClassification.from_pretrained(tmp_path / "q")(x).logits.numpy()
    # measured: max |delta| = 0.0057 x max |logit| over seeds 0-2 (fp16: 3e-4); argmax margins of this
    # batch are >= 2.7x the largest logit error, so every argmax must survive
    assert np.abs(got - ref).max() <= 0.02 * np.abs(ref).max()
    np.testing.assert_array_equal(got.argmax(-1), ref.argmax(-1))


def test_every_head_loads_an_int8_checkpoint_without_a_flag(tmp_path):
    paddle.seed(3)
    mlm = RootsForMaskedLM(tiny_config())  # the MLM head is tied to the word embeddings
    mlm.eval()
    x = ids()
    ref = mlm(x).logits.numpy()
    mlm.save_pretrained(tmp_path, dtype="int8")
    loaded = RootsForMaskedLM.from_pretrained(tmp_path)
    assert np.abs(loaded(x).logits.numpy() - ref).max() <= 0.02 * np.abs(ref).max()
    want = mlm.state_dict()[WORD].numpy()
    for cls in (RootsModel, RootsForSequenceClassification, RootsForTokenClassification,
                RootsForQuestionAnswering, RootsForPrefixLM):
        model = cls.from_pretrained(tmp_path)
        key = "embeddings.word_embeddings.weight" if cls is RootsModel else WORD
        got = model.state_dict()[key].numpy()
        assert got.dtype == np.float32
        assert np.abs(got - want).max() <= np.abs(want).max() / 127


def test_int8_base_works_under_an_adapter(int8_dir, tmp_path):
    model = RootsForSequenceClassification.from_pretrained(int8_dir)
    apply_lora(model, LoraConfig(rank=4, embedding_rank=4))
    paddle.seed(5)
    with paddle.no_grad():
        for name, p in model.named_parameters():
            if name.endswith((".lora_A", ".lora_B")):
                p.set_value(paddle.normal(0.0, 0.05, p.shape))
    model.eval()
    expected = model(ids()).logits.numpy()
    with pytest.raises(ValueError, match="int8.*full checkpoints"):
        save_adapter(model, tmp_path / "bad", base_model=str(int8_dir), dtype="int8")
    out = save_adapter(model, tmp_path / "adapter", base_model=str(int8_dir), dtype=None)
    loaded = RootsForSequenceClassification.from_pretrained(out)
    np.testing.assert_allclose(loaded(ids()).logits.numpy(), expected, atol=1e-4)


def test_int8_file_is_under_0_6_of_fp16_at_roots_base_shape(tmp_path):
    paddle.seed(0)
    config = RootsConfig(vocab_size=16000, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                         intermediate_size=1024, max_position_embeddings=512)
    model = RootsForMaskedLM(config)
    fp16 = model.save_pretrained(tmp_path / "fp16", dtype="float16") / "model.safetensors"
    int8 = model.save_pretrained(tmp_path / "int8", dtype="int8") / "model.safetensors"
    assert int8.stat().st_size < 0.6 * fp16.stat().st_size  # measured 0.51
    assert not list(tmp_path.rglob("*.tmp"))


def test_fp16_files_are_unchanged_and_bad_dtypes_refused(tmp_path):
    paddle.seed(0)
    model = RootsModel(tiny_config())
    path = model.save_pretrained(tmp_path, dtype="float16") / "model.safetensors"
    assert metadata(path) == {"format": "roots"}
    with pytest.raises(ValueError, match="int4.*int8"):
        model.save_pretrained(tmp_path, dtype="int4")


# ---------------------------------------------------------------- malformed files
def _rewrite(src: Path, dst: Path, change, meta=None) -> Path:
    arrays = load_file(str(src / "model.safetensors"))
    change(arrays)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    save_file(arrays, str(dst), metadata=meta or {"format": "roots", "roots_weight_dtype": "int8"})
    return dst


def _drop(key):
    return lambda a: a.pop(key)


def _set(key, fn):
    return lambda a: a.__setitem__(key, fn(a))


CORRUPTIONS = {
    "scale missing": (_drop(QKV + SCALE_SUFFIX), "qkv.weight.*is int8 but its scale.*missing"),
    "orphan scale": (_drop(QKV), "scale.*qkv.weight::int8_scale.*has no tensor"),
    "scale shape": (_set(QKV + SCALE_SUFFIX, lambda a: a[QKV + SCALE_SUFFIX][:, :-1]),
                    "qkv.weight.*scale shape .* does not match"),
    "weight shape": (_set(QKV, lambda a: a[QKV].T), "qkv.weight.*scale shape .* does not match"),
    "weight dtype": (_set(QKV, lambda a: a[QKV].astype(np.float16)), "qkv.weight.*dtype float16, expected int8"),
    "scale dtype": (_set(QKV + SCALE_SUFFIX, lambda a: a[QKV + SCALE_SUFFIX].astype(np.int32)),
                    "qkv.weight.*scale .* dtype int32"),
    "negative scale": (_set(QKV + SCALE_SUFFIX, lambda a: -a[QKV + SCALE_SUFFIX]), "qkv.weight.*negative"),
    "1-D weight": (_set(WORD, lambda a: a[WORD].reshape(-1)), "word_embeddings.weight.*must be 2-D"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_malformed_int8_files_name_the_tensor_and_file(int8_dir, tmp_path, case):
    change, match = CORRUPTIONS[case]
    path = _rewrite(int8_dir, tmp_path / "broken.safetensors", change)
    with pytest.raises(ValueError, match=f"broken.safetensors.*{match}"):
        checkpoint.load_weights(path)


def test_malformed_file_through_from_pretrained(int8_dir):
    _rewrite(int8_dir, int8_dir / "model.safetensors", _drop(WORD + SCALE_SUFFIX))
    (int8_dir / "checksums.json").unlink()
    with pytest.raises(ValueError, match="model.safetensors.*word_embeddings.weight.*scale.*missing"):
        RootsForSequenceClassification.from_pretrained(int8_dir)


@pytest.mark.parametrize("meta, match", [({"format": "roots"}, "int8 scales.*metadata lacks"),
                                         ({"roots_weight_dtype": "int4"}, "unsupported roots_weight_dtype='int4'")])
def test_missing_or_unknown_format_marker_is_refused(int8_dir, tmp_path, meta, match):
    path = _rewrite(int8_dir, tmp_path / "odd.safetensors", lambda a: None, meta)
    with pytest.raises(ValueError, match=f"odd.safetensors.*{match}"):
        checkpoint.load_weights(path)


# ---------------------------------------------------------------- shipping
def test_ship_model_int8_records_the_dtype(int8_dir, tmp_path, monkeypatch):
    from roots_zh.hub import registry

    import ship_model  # tools/ is on the test path (pytest.ini `pythonpath`)

    zoo = tmp_path / "zoo"
    zoo.mkdir()
    monkeypatch.setattr(registry, "PRETRAINED_DIR", zoo)
    monkeypatch.setattr(registry, "REGISTRY_PATH", zoo / "registry.json")
    source = tmp_path / "run"
    fp32 = RootsForSequenceClassification.from_pretrained(int8_dir).save_pretrained(source / "final")
    (source / "result.json").write_text(json.dumps({"dev": {"accuracy": 0.5}}))
    assert ship_model.main(["--from", str(source), "--name", "tiny", "--task", "chnsenticorp",
                            "--weight-dtype", "int8"]) == 0
    shipped = zoo / "tiny"
    assert metadata(shipped / "model.safetensors")["roots_weight_dtype"] == "int8"
    assert (shipped / "model.safetensors").stat().st_size < 0.6 * (fp32 / "model.safetensors").stat().st_size
    card = (shipped / "README.md").read_text(encoding="utf-8")
    assert "full int8 weight-only model" in card and "--weight-dtype int8" in card
    entry = json.loads((zoo / "registry.json").read_text())["tiny"]
    assert entry["files"]["model.safetensors"] == registry.sha256_file(shipped / "model.safetensors")
    assert RootsForSequenceClassification.from_pretrained("tiny").config.num_labels == 3

    # over the budget: refused, and the model already shipped under that name is left as it was
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    monkeypatch.setattr(ship_model, "BUDGET_MB", 0.01)
    with pytest.raises(SystemExit, match="unchanged"):
        ship_model.main(["--from", str(source), "--name", "tiny", "--task", "chnsenticorp"])
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before
    assert sorted(p.name for p in zoo.iterdir()) == ["registry.json", "tiny"]


# ---------------------------------------------------------------- the shipped model on real data
def test_roots_sentiment_int8_agrees_with_fp16_on_real_dev_texts(tmp_path):
    from tests.conftest import shared_data  # skips when the shared data is absent

    from roots_zh.data.readers import load_classification_set
    from roots_zh.hub import load_registry
    from roots_zh.pipelines.text_classification import TextClassifier

    if "roots-sentiment" not in load_registry():
        pytest.skip("roots-sentiment not shipped")
    data = shared_data()
    if not (data / "chnsenticorp" / "dev.tsv").is_file():
        pytest.skip("ChnSentiCorp dev set not in shared data")
    texts = [e.text for e in load_classification_set(data, "chnsenticorp", "dev")[0][:50]]
    fp16 = TextClassifier.from_pretrained("roots-sentiment")
    fp16.save_pretrained(tmp_path / "int8", dtype="int8")
    int8 = TextClassifier.from_pretrained(tmp_path / "int8")
    agree = (fp16.predict_proba(texts).argmax(-1) == int8.predict_proba(texts).argmax(-1)).sum()
    assert agree >= 49, f"int8 agrees with fp16 on only {agree}/50 texts"


def test_pruned_rows_load_as_zeros_and_the_rest_unchanged(tmp_path):
    """prune_rows keeps the stored rows bit-identical (per-row and per-column scales), zeros the rest,
    shrinks the file, and malformed flags or a non-int8 file are refused by name."""
    rng = np.random.default_rng(0)
    state = {WORD: rng.normal(size=(300, 64)).astype(np.float32), "row_scaled": rng.normal(size=(300, 64)).astype(np.float32)
             * np.linspace(0.01, 10, 300, dtype=np.float32)[:, None], "bias": np.ones(64, np.float32)}
    path = checkpoint.save_weights(state, tmp_path / "model.safetensors", dtype="int8")
    before, size = checkpoint.load_weights(path), path.stat().st_size
    keep = np.zeros(300, dtype=bool)
    keep[::3] = True
    for name in (WORD, "row_scaled"):
        checkpoint.prune_rows(path, name, keep)
    after = checkpoint.load_weights(path)
    assert path.stat().st_size < size * 0.5 and metadata(path)[quantize.METADATA_KEY] == "int8"
    for name in (WORD, "row_scaled"):
        assert np.array_equal(after[name][keep], before[name][keep]) and not after[name][~keep].any()
        assert after[name].shape == (300, 64)
    assert np.array_equal(after["bias"], before["bias"])
    with pytest.raises(ValueError, match="already pruned"):
        checkpoint.prune_rows(path, WORD, keep)
    with pytest.raises(ValueError, match="one flag per row"):
        checkpoint.prune_rows(checkpoint.save_weights(state, tmp_path / "b.safetensors", dtype="int8"), WORD, keep[:10])
    with pytest.raises(ValueError, match="not int8"):
        checkpoint.prune_rows(checkpoint.save_weights(state, tmp_path / "c.safetensors", dtype="float16"), WORD, keep)
    arrays = load_file(str(path))
    arrays[WORD + quantize.ROWS_SUFFIX] = np.ones(300, np.uint8)  # flags that do not match the stored rows
    save_file(arrays, str(tmp_path / "bad.safetensors"), metadata={quantize.METADATA_KEY: "int8"})
    with pytest.raises(ValueError, match="stored_rows"):
        checkpoint.load_weights(tmp_path / "bad.safetensors")


def test_character_level_tokenizer_reaches_only_short_pieces():
    """Under tokenize_chinese_chars the multi-character Chinese pieces are never produced (their rows
    need not be stored); a piece-level tokenizer reaches every id."""
    from roots_zh.hub import resolve_model_dir
    from roots_zh.tokenization.auto import AutoTokenizer

    base = resolve_model_dir("roots-base")
    char_level = AutoTokenizer.from_pretrained(base, tokenize_chinese_chars=True)
    reach = char_level.reachable_ids()
    assert reach.shape == (char_level.vocab_size,) and 4000 < reach.sum() < 8000
    texts = ["马云在杭州创办了阿里巴巴集团。", " 中国 人民▁银行 Hello world 2024年！😀", "ＡＢＣ　全角，標點"]
    for ids in char_level(texts)["input_ids"]:
        assert reach[ids].all()
    assert reach[char_level.all_special_ids].all()
    assert AutoTokenizer.from_pretrained(base).reachable_ids().all()
