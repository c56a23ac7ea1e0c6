"""Stage-1 distributional embeddings (PPMI-SVD): counts, PPMI, and that co-occurring tokens end up close."""
import numpy as np
import pytest

from roots_zh.training.embedding_init import cooccurrence_matrix, distributional_embeddings, ppmi


def test_cooccurrence_counts_are_symmetric_and_distance_weighted():
    counts = cooccurrence_matrix(np.array([1, 2, 3], dtype=np.uint16), vocab_size=4, window=2)
    assert counts[1, 2] == counts[2, 1] == 1.0  # neighbours
    assert counts[1, 3] == counts[3, 1] == 0.5  # distance 2
    assert counts[0].sum() == 0 and np.allclose(counts, counts.T)
    with pytest.raises(ValueError, match="vocab_size"):
        cooccurrence_matrix(np.array([1, 9]), vocab_size=4)
    with pytest.raises(ValueError, match="window"):
        cooccurrence_matrix(np.array([1, 2]), vocab_size=4, window=0)


def test_ppmi_is_positive_and_finite():
    counts = cooccurrence_matrix(np.random.default_rng(0).integers(0, 20, 5000), vocab_size=20)
    values = ppmi(counts)
    assert np.isfinite(values).all() and (values >= 0).all() and values.max() > 0


def test_tokens_of_one_topic_end_up_closer_than_tokens_of_another():
    # two "topics" (ids 5-24 and 25-44) never share a sentence; sentences are separated by id 2
    rng = np.random.default_rng(0)
    stream = []
    for _ in range(3000):
        lo = 5 if rng.random() < 0.5 else 25
        stream += list(rng.integers(lo, lo + 20, 8)) + [2]
    ids = np.array(stream, dtype=np.uint16)
    out = distributional_embeddings(ids, vocab_size=50, dim=8, window=3, skip_ids=range(5), seed=0)
    weight, covered = out["weight"], out["covered"]
    assert weight.shape == (50, 8) and covered[5:45].all() and not covered[:5].any() and not covered[45:].any()
    assert abs(float(weight[covered].std()) - 0.02) < 1e-3  # scaled like the random init
    unit = weight / np.linalg.norm(weight, axis=1, keepdims=True)
    same = np.mean([unit[a] @ unit[b] for a in range(5, 25) for b in range(5, 25) if a != b])
    cross = np.mean([unit[a] @ unit[b] for a in range(5, 25) for b in range(25, 45)])
    assert same > cross + 0.5, (same, cross)
    with pytest.raises(ValueError, match="random_rows"):
        distributional_embeddings(ids, vocab_size=50, dim=8, random_rows=np.zeros((3, 3)))
