"""Model core: masks, cache, heads, save/load round-trips, corrupted files, bad inputs."""
import json

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from roots_zh import (RootsConfig, RootsForMaskedLM, RootsForPrefixLM, RootsForQuestionAnswering,  # noqa: E402
                      RootsForSequenceClassification, RootsForTokenClassification, RootsModel)
from roots_zh.hub import registry  # noqa: E402
from roots_zh.modeling.masks import build_attention_bias  # noqa: E402


def tiny_config(**kw):
    base = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                attention_probs_dropout_prob=0.0)
    base.update(kw)
    return RootsConfig(**base)


def ids(batch=2, seq=10, seed=0):
    return paddle.to_tensor(np.random.default_rng(seed).integers(5, 97, size=(batch, seq)))


def test_pre_layer_norm_blocks(tmp_path):
    """Pre-LN: a final LayerNorm closes the stack, the function differs from Post-LN with the same
    weights, and it round-trips through save/load."""
    paddle.seed(0)
    pre = RootsForMaskedLM(tiny_config(pre_layer_norm=True, initializer_range=0.3))  # sub-layers matter
    pre.eval()
    names = {n for n, _ in pre.named_parameters()}
    assert "roots.encoder.final_norm.weight" in names
    post = RootsForMaskedLM(tiny_config(initializer_range=0.3))
    post.eval()
    post.set_state_dict({k: v for k, v in pre.state_dict().items() if "final_norm" not in k})
    assert np.abs(pre(ids()).logits.numpy() - post(ids()).logits.numpy()).max() > 1e-3
    loaded = RootsForMaskedLM.from_pretrained(pre.save_pretrained(tmp_path / "pre"))
    assert loaded.config.pre_layer_norm is True
    np.testing.assert_allclose(loaded(ids()).logits.numpy(), pre(ids()).logits.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="pre_layer_norm"):
        tiny_config(pre_layer_norm="yes")


# ---------------------------------------------------------------- masks
def test_mask_modes():
    mask = paddle.to_tensor([[1, 1, 1, 1, 0]])
    prefix = paddle.to_tensor([[1, 1, 0, 0, 0]])
    visible = lambda mode: (build_attention_bias(mask, 1, 5, 5, mode, prefix).numpy()[0, 0] == 0)  # noqa
    bi, causal, pre = visible("bidirectional"), visible("causal"), visible("prefix")
    assert bi.shape == (1, 5) and bi[0].tolist() == [True, True, True, True, False]
    assert causal.tolist() == np.tril(np.ones((5, 5), bool) & bi).tolist()
    # source tokens see each other both ways but never the target
    assert pre[0, 1] and pre[1, 0] and not pre[0, 2] and not pre[1, 2]
    # target tokens see the whole source and their own past only
    assert pre[2, :3].all() and not pre[2, 3] and pre[3, :4].all() and not pre[3, 4]
    with pytest.raises(ValueError, match="mode"):
        build_attention_bias(mask, 1, 5, 5, "sideways")
    with pytest.raises(ValueError, match="prefix_mask"):
        build_attention_bias(mask, 1, 5, 5, "prefix")
    # one new query (a cached decoding step) sees every key: only padding is masked, or nothing at all
    for mode in ("causal", "prefix"):
        assert build_attention_bias(None, 1, 1, 5, mode) is None
        step = build_attention_bias(mask, 1, 1, 5, mode).numpy()[0, 0]
        assert step.shape == (1, 5) and (step[0] == 0).tolist() == [True, True, True, True, False]


def test_prefix_mode_source_ignores_target():
    """Changing target tokens must not change source hidden states in prefix mode (but does in
    bidirectional mode)."""
    model = RootsModel(tiny_config())
    model.eval()
    a = ids(seed=1)
    b = a.clone()
    b[:, 6:] = 7
    prefix = paddle.to_tensor([[1] * 6 + [0] * 4] * 2)
    src = lambda x, mode: model(x, mode=mode, prefix_mask=prefix).last_hidden_state[:, :6].numpy()  # noqa
    np.testing.assert_allclose(src(a, "prefix"), src(b, "prefix"), atol=1e-6)
    assert np.abs(src(a, "bidirectional") - src(b, "bidirectional")).max() > 1e-3


@pytest.mark.parametrize("pre_ln", [False, True])
def test_kv_cache_matches_full_forward(pre_ln):
    model = RootsForPrefixLM(tiny_config(pre_layer_norm=pre_ln))
    model.eval()
    x = ids(seed=2)
    types = paddle.to_tensor([[0] * 6 + [1] * 4] * 2)
    full = model(x, types).logits.numpy()
    out = model(x[:, :6], types[:, :6], use_cache=True)
    pieces, cache = [out.logits.numpy()], out.past_key_values
    prefix = (types == 0).astype("int64")
    for i in range(6, 10):
        out = model(x[:, i:i + 1], types[:, i:i + 1], prefix_mask=prefix[:, :i + 1],
                    past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        pieces.append(out.logits.numpy())
    np.testing.assert_allclose(np.concatenate(pieces, 1), full, atol=1e-5)


def test_generate_equals_uncached_greedy():
    paddle.seed(3)
    model = RootsForPrefixLM(tiny_config())
    model.eval()
    src = ids(batch=1, seq=5, seed=3)
    from roots_zh.generation import GenerationConfig, generate

    cached = generate(model, src.numpy().tolist(), None, 0, GenerationConfig(max_new_tokens=6))[0]
    seq = src.numpy()[0].tolist()
    for _ in range(6):  # re-encode everything each step
        x = paddle.to_tensor([seq])
        types = paddle.to_tensor([[0] * 5 + [1] * (len(seq) - 5)])
        seq.append(int(model(x, types).logits[0, -1].argmax()))
    assert cached == seq[5:]


def test_heads_shapes_and_losses():
    cfg = tiny_config(num_labels=3)
    x = ids()
    out = RootsForSequenceClassification(cfg)(x, labels=paddle.to_tensor([0, 2]))
    assert out.logits.shape == [2, 3] and float(out.loss) > 0
    out = RootsForTokenClassification(cfg)(x, labels=paddle.full([2, 10], -100, "int64").scale(0) + 1)
    assert out.logits.shape == [2, 10, 3]
    out = RootsForQuestionAnswering(cfg)(x, start_positions=paddle.to_tensor([1, 2]),
                                         end_positions=paddle.to_tensor([3, 4]))
    assert out.start_logits.shape == [2, 10] and out.loss is not None
    mlm = RootsForMaskedLM(cfg)
    out = mlm(x, masked_positions=paddle.to_tensor([0, 11, 19]), labels=paddle.to_tensor([5, 6, 7]))
    assert out.logits.shape == [3, 97]
    # the MLM decoder is tied to the word embeddings: no separate [V, H] matrix
    assert not any(tuple(p.shape) == (32, 97) or tuple(p.shape) == (97, 32) for n, p in mlm.named_parameters()
                   if "word_embeddings" not in n)


def test_ignored_labels_do_not_dilute_the_loss():
    from roots_zh.modeling.heads import token_cross_entropy

    logits = paddle.to_tensor([[2.0, 0.0], [0.0, 2.0], [5.0, 0.0]])
    full = float(token_cross_entropy(logits[:2], paddle.to_tensor([0, 0])))
    with_ignored = float(token_cross_entropy(logits, paddle.to_tensor([0, 0, -100])))
    assert abs(full - with_ignored) < 1e-6 and abs(full - 1.1269) < 1e-3
    assert float(token_cross_entropy(logits, paddle.to_tensor([-100, -100, -100]))) == 0.0


def test_training_step_reduces_loss():
    paddle.seed(0)
    model = RootsForSequenceClassification(tiny_config())
    opt = paddle.optimizer.AdamW(learning_rate=1e-3, parameters=model.parameters())
    x, y = ids(batch=8, seed=4), paddle.to_tensor([0, 1] * 4)
    losses = []
    for _ in range(30):
        loss = model(x, labels=y).loss
        loss.backward()
        opt.step()
        opt.clear_grad()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------- bad input
def test_bad_inputs_are_named():
    model = RootsModel(tiny_config())
    with pytest.raises(TypeError, match="input_ids"):
        model([[1, 2, 3]])
    with pytest.raises(ValueError, match="input_ids"):
        model(paddle.to_tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="vocabulary"):
        model(paddle.to_tensor([[1, 200]]))
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model(paddle.ones([1, 65], "int64"))
    with pytest.raises(ValueError, match="hidden_size"):
        RootsConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(ValueError, match="vocab_size"):
        RootsConfig(vocab_size=0)
    with pytest.raises(TypeError, match="config"):
        RootsModel({"hidden_size": 32})


# ---------------------------------------------------------------- checkpoint I/O
def test_save_load_roundtrip_fp32_and_fp16(tmp_path):
    paddle.seed(7)
    model = RootsForSequenceClassification(tiny_config(num_labels=3, id2label={0: "a", 1: "b", 2: "c"}))
    model.eval()
    x = ids(seed=5)
    ref = model(x).logits.numpy()
    model.save_pretrained(tmp_path / "fp32")
    loaded = RootsForSequenceClassification.from_pretrained(tmp_path / "fp32")
    np.testing.assert_array_equal(loaded(x).logits.numpy(), ref)
    assert loaded.config.id2label == {0: "a", 1: "b", 2: "c"}
    model.save_pretrained(tmp_path / "fp16", dtype="float16")
    half = RootsForSequenceClassification.from_pretrained(tmp_path / "fp16")
    assert np.abs(half(x).logits.numpy() - ref).max() < 1e-2
    assert (tmp_path / "fp16/model.safetensors").stat().st_size < 0.6 * (tmp_path / "fp32/model.safetensors").stat().st_size
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp files


def test_backbone_checkpoint_into_new_head(tmp_path):
    base = RootsForMaskedLM(tiny_config())
    base.save_pretrained(tmp_path)
    clf = RootsForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    assert clf.classifier.weight.shape == [32, 5]
    np.testing.assert_array_equal(clf.roots.embeddings.word_embeddings.weight.numpy(),
                                  base.roots.embeddings.word_embeddings.weight.numpy())


def test_truncated_and_bitflipped_weights_are_refused(tmp_path):
    RootsModel(tiny_config()).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model.safetensors.*corrupted or truncated"):
        RootsModel.from_pretrained(tmp_path)
    weights.write_bytes(bytes(data[: len(data) // 3]))
    with pytest.raises(ValueError, match="corrupted or truncated"):
        RootsModel.from_pretrained(tmp_path)
    # without checksums.json the safetensors reader itself must refuse the truncated file
    (tmp_path / "checksums.json").unlink()
    with pytest.raises(ValueError, match="cannot read weights"):
        RootsModel.from_pretrained(tmp_path)


def test_bad_config_files_are_named(tmp_path):
    RootsModel(tiny_config()).save_pretrained(tmp_path)
    (tmp_path / "checksums.json").unlink()
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json"):
        RootsModel.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 32, "num_attention_heads": 5}))
    with pytest.raises(ValueError, match="divisible"):
        RootsModel.from_pretrained(tmp_path)
    tiny_config().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="unknown config field"):
        RootsModel.from_pretrained(tmp_path, not_a_field=1)
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": "wide"}))
    with pytest.raises(ValueError, match="hidden_size"):
        RootsModel.from_pretrained(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        RootsModel.from_pretrained(empty)


def test_registry_missing_file_and_unknown_name(tmp_path, monkeypatch):
    (tmp_path / "reg").mkdir()
    reg = tmp_path / "reg" / "registry.json"
    reg.write_text(json.dumps({"tiny": {"files": {"config.json": "0" * 64, "model.safetensors": "0" * 64},
                                         "how_to_get": "run tools/pretrain.py"}}))
    monkeypatch.setattr(registry, "REGISTRY_PATH", reg)
    monkeypatch.setattr(registry, "PRETRAINED_DIR", tmp_path / "reg")
    monkeypatch.setenv("ROOTS_HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="config.json.*tools/pretrain.py"):
        RootsModel.from_pretrained("tiny")
    with pytest.raises(ValueError, match="registered"):
        RootsModel.from_pretrained("no-such-model")
    with pytest.raises(ValueError, match="empty"):
        RootsModel.from_pretrained("  ")
    # files present in ROOTS_HOME but with the wrong sha256 -> refused
    model_dir = tmp_path / "home" / "tiny"
    RootsModel(tiny_config()).save_pretrained(model_dir)
    with pytest.raises(ValueError, match="corrupted or truncated"):
        RootsModel.from_pretrained("tiny")
    files = {f: registry.sha256_file(model_dir / f) for f in ("config.json", "model.safetensors")}
    reg.write_text(json.dumps({"tiny": {"files": files}}))
    assert RootsModel.from_pretrained("tiny").config.hidden_size == 32


def test_mean_pooling_head_reads_only_real_tokens():
    """classifier_pooling="mean": logits = classifier(masked mean of the last hidden states), and
    padding a sequence further does not change them."""
    from roots_zh.modeling import RootsConfig, RootsForSequenceClassification

    paddle.seed(3)
    config = RootsConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, num_labels=3, classifier_pooling="mean")
    model = RootsForSequenceClassification(config)
    model.eval()
    assert model.roots.pooler is None
    ids = paddle.to_tensor([[2, 15, 16, 17, 3, 0, 0], [2, 40, 41, 42, 43, 44, 3]])
    mask = (ids != 0).astype("int64")
    logits = model(ids, attention_mask=mask).logits.numpy()
    hidden = model.roots(ids, attention_mask=mask).last_hidden_state.numpy()
    m = mask.numpy()[..., None]
    mean = (hidden * m).sum(1) / m.sum(1)
    ref = mean @ model.classifier.weight.numpy() + model.classifier.bias.numpy()
    np.testing.assert_allclose(logits, ref, atol=1e-5)
    padded = paddle.concat([ids, paddle.zeros([2, 5], dtype="int64")], axis=1)
    logits_padded = model(padded, attention_mask=(padded != 0).astype("int64")).logits.numpy()
    np.testing.assert_allclose(logits_padded, logits, atol=1e-5)
    with pytest.raises(ValueError, match="classifier_pooling"):
        RootsConfig(vocab_size=120, classifier_pooling="max")


@pytest.mark.parametrize("transpose_weight", [False, True])
def test_fast_linear_matches_plain_linear_in_value_and_gradients(transpose_weight):
    """The training linear (bias gradient as a GEMM) gives F.linear's outputs and gradients, also
    under to_static, and returns no gradient for frozen inputs (LoRA bases)."""
    import paddle.nn.functional as F

    from roots_zh.modeling.fast_linear import linear

    rng = np.random.default_rng(0)
    shape_w = (6, 5) if transpose_weight else (5, 6)
    x0, w0, b0 = (rng.standard_normal(s).astype("float32") for s in ((3, 4, 5), shape_w, (6,)))

    def grads(fn, frozen_w=False):
        x, w, b = (paddle.to_tensor(a, stop_gradient=False) for a in (x0, w0, b0))
        w.stop_gradient = frozen_w
        y = fn(x, w, b)
        (y * y).sum().backward()
        return [y.numpy()] + [t.grad.numpy() if t.grad is not None else None for t in (x, w, b)]

    def plain(x, w, b):
        return (paddle.matmul(x, w, transpose_y=True) + b) if transpose_weight else F.linear(x, w, b)

    def fast(x, w, b):
        return linear(x, w, b, transpose_weight=transpose_weight)

    ref = grads(plain)
    for got in (grads(fast), grads(paddle.jit.to_static(fast, full_graph=True))):  # traced: plain F.linear
        for a, b in zip(ref, got):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    frozen = grads(fast, frozen_w=True)
    assert frozen[2] is None
    np.testing.assert_allclose(frozen[1], ref[1], rtol=1e-5, atol=1e-5)
    # eager inference (addmm adds the bias inside the GEMM): F.linear's values for 3-D and 2-D inputs
    x, w, b = (paddle.to_tensor(a) for a in (x0, w0, b0))
    for inputs in (x, x[0]):
        np.testing.assert_allclose(linear(inputs, w, b, transpose_weight=transpose_weight, training=False).numpy(),
                                   plain(inputs, w, b).numpy(), rtol=1e-5, atol=1e-5)
