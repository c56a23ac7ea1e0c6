"""Pretraining: whole-word masks, prefix batches, exact resume, and 2-process data parallelism."""
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from roots_zh.training.pretrain_data import (SpecialIds, batch_indices,  # noqa: E402
                                             mlm_batch, prefix_lm_batch)
from tests.conftest import REPO_ROOT  # noqa: E402

ROOT = REPO_ROOT
SPECIAL = SpecialIds(pad=0, cls=2, sep=3, mask=4, vocab_size=500)
DOCS = ["今天天气很好，我们一起去公园散步吧。", "北京是中华人民共和国的首都，也是政治文化中心。",
        "这家酒店的服务非常周到，房间干净整洁。", "机器学习是人工智能的一个重要分支。",
        "他在图书馆里看了一下午的书。", "春天来了，花园里的花都开了。"]


def test_mlm_batch_masks_whole_words():
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 500, (4, 40))
    starts = (rng.random((4, 40)) < 0.4).astype(np.uint8)
    batch = mlm_batch(ids, starts, SPECIAL, rng)
    per_row = int(round(38 * 0.15))
    assert batch["masked_positions"].shape == (4 * per_row,)  # fixed count: static shapes
    pos = batch["masked_positions"]
    np.testing.assert_array_equal(batch["labels"], ids.reshape(-1)[pos])
    assert ((pos % 40) >= 1).all() and ((pos % 40) <= 38).all()  # never [CLS]/[SEP]
    changed = (batch["input_ids"] != ids).reshape(-1)
    assert changed[pos].mean() > 0.6 and not np.delete(changed, pos).any()
    # whole words: every masked word except at most one per row (the budget cut) is complete
    for r in range(4):
        body_pos = set((pos[r * per_row:(r + 1) * per_row] % 40).tolist())
        word = np.cumsum(starts[r, 1:-1].astype(int))
        partial = 0
        for w in set(word[[p - 1 for p in body_pos]]):
            members = {i + 1 for i in np.flatnonzero(word == w)}
            partial += not members <= body_pos
        assert partial <= 1


def test_prefix_batch_layout():
    rng = np.random.default_rng(1)
    ids = rng.integers(5, 500, (3, 32))
    batch = prefix_lm_batch(ids, rng)
    for r in range(3):
        types = batch["token_type_ids"][r]
        split = int(np.argmax(types))
        assert 8 <= split <= 24 and (types[:split] == 0).all() and (types[split:] == 1).all()
        rows = batch["masked_positions"].reshape(3, -1)[r] - r * 32
        assert (rows >= split - 1).all()  # only target tokens are predicted
        np.testing.assert_array_equal(batch["labels"].reshape(3, -1)[r], ids[r, rows + 1])
    np.testing.assert_array_equal(batch["prefix_mask"], 1 - batch["token_type_ids"])


def test_batch_indices_are_a_resumable_permutation():
    first_epoch = np.concatenate([batch_indices(100, 10, s, 3) for s in range(10)])
    assert sorted(first_epoch.tolist()) == list(range(100))
    np.testing.assert_array_equal(batch_indices(100, 10, 4, 3), batch_indices(100, 10, 4, 3))
    assert not np.array_equal(batch_indices(100, 10, 10, 3), batch_indices(100, 10, 0, 3))


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    """A char vocab tokenizer, a gzip corpus and its prepared token arrays."""
    from roots_zh.training.pretrain_data import prepare_corpus

    base = tmp_path_factory.mktemp("pretrain")
    chars = sorted({c for d in DOCS for c in d})
    tok = base / "tok"
    tok.mkdir()
    (tok / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars) + "\n")
    corpus = base / "corpus"
    corpus.mkdir()
    with gzip.open(corpus / "toy.txt.gz", "wt", encoding="utf-8") as fh:
        for i in range(300):
            fh.write(DOCS[i % len(DOCS)] + DOCS[(i * 7) % len(DOCS)] + "\n")
    data = base / "data"
    meta = prepare_corpus(corpus, tok, data, heldout_every=10, workers=1)
    assert meta["train_tokens"] > 5_000 and meta["heldout_tokens"] > 500
    # a weight of 3 repeats the training documents three times; held-out documents stay single
    tripled = prepare_corpus(corpus, tok, base / "tripled", heldout_every=10, workers=1, weights={"toy": 3})
    assert tripled["train_tokens"] == 3 * meta["train_tokens"]
    assert tripled["heldout_tokens"] == meta["heldout_tokens"]
    with pytest.raises(ValueError, match="weights"):
        prepare_corpus(corpus, tok, base / "bad", workers=1, weights={"toy": -1})
    return tok, data


def _train(tok, data, out, steps, extra=(), launch=False):
    cmd = [sys.executable, str(ROOT / "tools/pretrain.py"), "train", "--data", str(data), "--out", str(out),
           "--tokenizer", str(tok), "--max-steps", str(steps), "--batch-size", "4", "--seq-len", "32",
           "--save-every", "2", "--eval-every", "100", "--eval-batches", "1", "--warmup-steps", "2",
           "--model", json.dumps(dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=64, max_position_embeddings=64)), *extra]
    if launch:
        cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nnodes", "1", "--nproc_per_node", "2",
               "--log_dir", str(out / "launch_logs")] + cmd[1:]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:] + res.stdout[-2000:]
    return out


def _weights(out):
    return {k: v.numpy() for k, v in paddle.load(str(out / "checkpoint" / "model.pdparams")).items()}


@pytest.mark.parametrize("graph", ["--no-static", "--static"])  # dygraph (default) and to_static
def test_resume_continues_exactly(tiny_setup, tmp_path, graph):
    tok, data = tiny_setup
    straight = _weights(_train(tok, data, tmp_path / "a", 6, [graph]))
    _train(tok, data, tmp_path / "b", 6, ["--stop-at-step", "4", graph])  # interrupted at step 4
    state = json.loads((tmp_path / "b/checkpoint/trainer_state.json").read_text())
    assert state["step"] == 4
    resumed = _weights(_train(tok, data, tmp_path / "b", 6, ["--resume", graph]))
    for key in straight:
        np.testing.assert_allclose(resumed[key], straight[key], rtol=0, atol=1e-6, err_msg=key)
    log = [json.loads(line) for line in open(tmp_path / "a/log.jsonl")]
    assert any("eval_mlm_acc" in r for r in log) and (tmp_path / "a/pretrain_curve.png").is_file()


def test_two_process_data_parallel_replicas_identical(tiny_setup, tmp_path):
    tok, data = tiny_setup
    out = _train(tok, data, tmp_path / "dp", 4, ["--no-static"], launch=True)
    log = [json.loads(line) for line in open(out / "log.jsonl")]
    start = next(r for r in log if r.get("event") == "start")
    check = next(r for r in log if r.get("event") == "replica_check")
    assert start["world"] == 2
    assert check["identical"], check
    assert len(check["fingerprints"]) == 2
