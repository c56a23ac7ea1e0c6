"""Parity: PaddleNLP ERNIE/BERT and HF-named BERT checkpoints load into ROOTS with equal hidden states."""
import json

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")
paddlenlp_transformers = pytest.importorskip("paddlenlp.transformers")

from roots_zh import RootsModel, RootsForMaskedLM  # noqa: E402

TINY = dict(vocab_size=150, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=64)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 150, size=(3, 17))
    mask = np.ones_like(ids)
    mask[1, 12:] = 0  # padding in one row
    mask[2, 5:] = 0
    types = np.zeros_like(ids)
    types[:, 9:] = 1
    return paddle.to_tensor(ids), paddle.to_tensor(types), paddle.to_tensor(mask)


def _compare(reference, roots, mask):
    ref = reference.numpy()
    ours = roots.numpy()
    keep = mask.numpy().astype(bool)  # padded positions are not defined by either model
    diff = np.abs(ref - ours)[keep].max()
    assert diff < 1e-5, f"max abs diff {diff}"


def test_paddlenlp_bert_parity(tmp_path):
    paddle.seed(1)
    ref = paddlenlp_transformers.BertModel(paddlenlp_transformers.BertConfig(**TINY, type_vocab_size=2))
    ref.eval()
    ref.save_pretrained(str(tmp_path))
    ids, types, mask = _inputs()
    seq_ref, pooled_ref = ref(ids, token_type_ids=types, attention_mask=mask)
    ours = RootsModel.from_pretrained(tmp_path)
    out = ours(ids, token_type_ids=types, attention_mask=mask)
    _compare(seq_ref, out.last_hidden_state, mask)
    assert np.abs(pooled_ref.numpy() - out.pooler_output.numpy()).max() < 1e-5


def test_paddlenlp_ernie_parity_with_task_type(tmp_path):
    paddle.seed(2)
    cfg = paddlenlp_transformers.ErnieConfig(**TINY, type_vocab_size=4, use_task_id=True,
                                             task_type_vocab_size=3)
    ref = paddlenlp_transformers.ErnieModel(cfg)
    ref.eval()
    # the random init leaves task-type embeddings equal across ids; make them differ
    with paddle.no_grad():
        emb = ref.embeddings.task_type_embeddings.weight
        emb.set_value(paddle.randn(emb.shape) * 0.5)
    ref.save_pretrained(str(tmp_path))
    ids, types, mask = _inputs(3)
    task = paddle.full_like(ids, 2)
    seq_ref, _ = ref(ids, token_type_ids=types, attention_mask=mask, task_type_ids=task)
    ours = RootsModel.from_pretrained(tmp_path)
    assert ours.config.use_task_id and ours.config.type_vocab_size == 4
    _compare(seq_ref, ours(ids, token_type_ids=types, attention_mask=mask, task_type_ids=task).last_hidden_state,
             mask)


def test_legacy_model_config_json(tmp_path):
    """Old PaddleNLP directories carry `model_config.json` with `init_args`."""
    paddle.seed(4)
    ref = paddlenlp_transformers.BertModel(paddlenlp_transformers.BertConfig(**TINY, type_vocab_size=2))
    ref.eval()
    paddle.save(ref.state_dict(), str(tmp_path / "model_state.pdparams"))
    legacy = {"init_args": [dict(TINY, type_vocab_size=2, hidden_act="gelu")], "init_class": "BertModel"}
    (tmp_path / "model_config.json").write_text(json.dumps(legacy))
    ids, types, mask = _inputs(5)
    _compare(ref(ids, token_type_ids=types, attention_mask=mask)[0],
             RootsModel.from_pretrained(tmp_path)(ids, types, mask).last_hidden_state, mask)


def _hf_state_from_paddlenlp(model) -> dict:
    """The same weights under HF BERT names; torch Linear weights are [out, in]."""
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    hf = {
        "bert.embeddings.word_embeddings.weight": sd["embeddings.word_embeddings.weight"],
        "bert.embeddings.position_embeddings.weight": sd["embeddings.position_embeddings.weight"],
        "bert.embeddings.token_type_embeddings.weight": sd["embeddings.token_type_embeddings.weight"],
        "bert.embeddings.LayerNorm.weight": sd["embeddings.layer_norm.weight"],
        "bert.embeddings.LayerNorm.bias": sd["embeddings.layer_norm.bias"],
        "bert.pooler.dense.weight": sd["pooler.dense.weight"].T,
        "bert.pooler.dense.bias": sd["pooler.dense.bias"],
    }
    names = {"self_attn.q_proj": "attention.self.query", "self_attn.k_proj": "attention.self.key",
             "self_attn.v_proj": "attention.self.value", "self_attn.out_proj": "attention.output.dense",
             "norm1": "attention.output.LayerNorm", "linear1": "intermediate.dense",
             "linear2": "output.dense", "norm2": "output.LayerNorm"}
    for i in range(TINY["num_hidden_layers"]):
        for src, dst in names.items():
            w = sd[f"encoder.layers.{i}.{src}.weight"]
            hf[f"bert.encoder.layer.{i}.{dst}.weight"] = w.T if w.ndim == 2 else w
            hf[f"bert.encoder.layer.{i}.{dst}.bias"] = sd[f"encoder.layers.{i}.{src}.bias"]
    return hf


def test_hf_safetensors_parity(tmp_path):
    from safetensors.numpy import save_file

    paddle.seed(5)
    ref = paddlenlp_transformers.BertModel(paddlenlp_transformers.BertConfig(**TINY, type_vocab_size=2))
    ref.eval()
    hf = _hf_state_from_paddlenlp(ref)
    rng = np.random.default_rng(0)
    hf["cls.predictions.transform.dense.weight"] = rng.normal(size=(32, 32)).astype("float32")
    hf["cls.predictions.transform.dense.bias"] = np.zeros(32, "float32")
    hf["cls.predictions.transform.LayerNorm.weight"] = np.ones(32, "float32")
    hf["cls.predictions.transform.LayerNorm.bias"] = np.zeros(32, "float32")
    hf["cls.predictions.bias"] = rng.normal(size=150).astype("float32")
    save_file({k: np.ascontiguousarray(v) for k, v in hf.items()}, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(dict(TINY, model_type="bert", type_vocab_size=2,
                                                          architectures=["BertForMaskedLM"])))
    ids, types, mask = _inputs(6)
    seq_ref, _ = ref(ids, token_type_ids=types, attention_mask=mask)
    _compare(seq_ref, RootsModel.from_pretrained(tmp_path)(ids, types, mask).last_hidden_state, mask)
    mlm = RootsForMaskedLM.from_pretrained(tmp_path)
    np.testing.assert_allclose(mlm.lm_head.decoder_bias.numpy(), hf["cls.predictions.bias"])


def test_mismatched_config_is_named(tmp_path):
    paddle.seed(6)
    ref = paddlenlp_transformers.BertModel(paddlenlp_transformers.BertConfig(**TINY, type_vocab_size=2))
    ref.save_pretrained(str(tmp_path))
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["hidden_size"] = 64
    cfg["num_attention_heads"] = 4
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="shape"):
        RootsModel.from_pretrained(tmp_path)
