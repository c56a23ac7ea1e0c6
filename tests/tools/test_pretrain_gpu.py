"""tools/pretrain_gpu.py: its torch model is RootsForMaskedLM, its batches are our objective.

Runs where PyTorch is installed (not a dependency of ROOTS; skipped otherwise): the shards it
returns load through the HF loader into a Paddle model that gives the same logits, in both
attention modes, and its GPU-side batch builder follows the masking rules of pretrain_data.
"""
import importlib.util
import json

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

ROOT = REPO_ROOT
spec = importlib.util.spec_from_file_location("pretrain_gpu", ROOT / "tools" / "pretrain_gpu.py")
pg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pg)

CFG = {"vocab_size": 300, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
       "intermediate_size": 64, "max_position_embeddings": 64, "type_vocab_size": 2,
       "layer_norm_eps": 1e-12, "initializer_range": 0.02, "hidden_act": "gelu", "pad_token_id": 0}
SPECIAL = {"pad": 0, "cls": 2, "sep": 3, "mask": 4, "first_normal": 5}


def _trained_torch_model():
    torch.manual_seed(0)
    model = pg.build_model(CFG)
    with torch.no_grad():  # move off the init so LayerNorms and biases are not trivial
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def test_shards_load_into_paddle_with_identical_logits(tmp_path):
    import paddle

    model = _trained_torch_model()
    names = pg.save_shards(pg.hf_state_dict(model), tmp_path / "shards", {"config": CFG, "step": 1,
                                                                          "tokens_seen": 10})
    assert names and all((tmp_path / "shards" / n).stat().st_size <= 16 * 2 ** 20 for n in names)
    pg.main(["assemble", "--shards", str(tmp_path / "shards"), "--tokenizer", str(ROOT / "pretrained" / "roots-base"),
             "--to", str(tmp_path / "roots")])
    from roots_zh.modeling import RootsForMaskedLM

    roots = RootsForMaskedLM.from_pretrained(tmp_path / "roots")
    rng = np.random.default_rng(0)
    ids = rng.integers(5, CFG["vocab_size"], (3, 20))
    batcher = pg.GpuBatcher(rng.integers(5, 300, 1000).astype(np.uint16), np.ones(1000, np.uint8), 20,
                            SPECIAL, CFG["vocab_size"], torch.device("cpu"), seed=1)
    g = torch.Generator().manual_seed(0)
    t_ids = torch.from_numpy(ids)
    for kind, (inp, token_type, mask, rows, _) in (
            ("mlm", batcher.mlm(t_ids, torch.ones(3, 18, dtype=torch.int32), g)),
            ("prefix", batcher.prefix(t_ids, g))):
        with torch.no_grad():
            expected = model(inp, token_type, mask, rows).numpy()
        kwargs = {}
        if kind == "prefix":
            kwargs = {"mode": "prefix", "prefix_mask": paddle.to_tensor((token_type == 0).long().numpy())}
        got = roots(paddle.to_tensor(inp.numpy()), paddle.to_tensor(token_type.numpy()),
                    masked_positions=paddle.to_tensor(rows.numpy()), **kwargs).logits.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4, err_msg=kind)
    # and back: the shards continue training in torch unchanged
    again = pg.build_model(CFG)
    pg.load_hf_shards_into(again, tmp_path / "shards", torch.device("cpu"))
    for (n, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), n
    assert json.loads((tmp_path / "roots" / "gpu_pretrain.json").read_text())["step"] == 1


def test_gpu_batches_follow_the_objective():
    rng = np.random.default_rng(1)
    n_tok, seq = 5000, 32
    ids = rng.integers(5, 300, n_tok).astype(np.uint16)
    starts = (rng.random(n_tok) < 0.6).astype(np.uint8)
    b = pg.GpuBatcher(ids, starts, seq, SPECIAL, 300, torch.device("cpu"), seed=3)
    g = torch.Generator().manual_seed(0)
    index, _ = b.windows(0, 8)
    rows_ids, rows_starts = b.rows(index)
    assert (rows_ids[:, 0] == 2).all() and (rows_ids[:, -1] == 3).all()
    inputs, token_type, mask, rows, labels = b.mlm(rows_ids, rows_starts, g)
    per_row = round((seq - 2) * 0.15)
    assert mask is None and len(labels) == 8 * per_row and (token_type == 0).all()
    pos = (rows.view(8, per_row) % seq)
    assert ((pos >= 1) & (pos <= seq - 2)).all()
    assert torch.equal(labels, rows_ids.reshape(-1)[rows])
    changed = (inputs != rows_ids).sum().item()
    assert 0 < changed <= 8 * per_row and (inputs.reshape(-1)[rows] == 4).float().mean() > 0.6
    # whole words: at most one word per row is cut by the masking budget
    for r in range(8):
        chosen = set(pos[r].tolist())
        word = np.cumsum(rows_starts[r].numpy())
        partial = sum(0 < len(chosen & {i + 1 for i in np.flatnonzero(word == w)}) < (word == w).sum()
                      for w in np.unique(word))
        assert partial <= 1
    inputs, token_type, mask, rows, labels = b.prefix(rows_ids, g)
    assert torch.equal(inputs, rows_ids)
    split = token_type.argmax(1)
    assert ((split >= seq // 4) & (split <= 3 * seq // 4)).all()
    pos = rows.view(8, -1) % seq
    assert (pos >= split[:, None] - 1).all() and (pos <= seq - 2).all()
    assert torch.equal(labels, rows_ids.reshape(-1)[rows + 1])
    m = mask[:, 0]  # (n, q, k): the source sees itself both ways, the target only its past
    for r in range(8):
        s = int(split[r])
        assert m[r, 0, s - 1] and not m[r, 0, s] and m[r, s, s] and not m[r, s, s + 1]
    # resuming replays the same windows
    again = pg.GpuBatcher(ids, starts, seq, SPECIAL, 300, torch.device("cpu"), seed=3)
    assert torch.equal(again.windows(5, 8)[0], b.windows(5, 8)[0])
