"""TextSimilarity: contrastive training learns which texts are paraphrases, the threshold is tuned on
labelled pairs, and save / reload / export give the same similarities; bad input is refused by name."""
import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from roots_zh.modeling import RootsConfig, RootsForSentenceEmbedding  # noqa: E402
from roots_zh.pipelines.text_similarity import TextSimilarity  # noqa: E402

from tests.pipelines.test_pipelines import NEG, POS, tokenizer  # noqa: E402,F401  (fixture)

# group g's two wordings share no meaning a character count could see: POS[g] <-> NEG[g + 4]
GROUPS = [(POS[g], NEG[(g + 4) % len(NEG)]) for g in range(len(POS))]


def make_similarity(tokenizer):
    paddle.seed(0)
    cfg = RootsConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64)
    return TextSimilarity(RootsForSentenceEmbedding(cfg), tokenizer, max_length=32)


def variant(phrase, rng):
    return ["这家酒店", "这家", "酒店的", ""][int(rng.integers(4))] + phrase + ["。", "！", "，", ""][int(rng.integers(4))]


def paraphrases(n, seed):
    rng = np.random.default_rng(seed)
    rows = [GROUPS[int(rng.integers(len(GROUPS)))] for _ in range(n)]
    return [variant(a, rng) for a, _ in rows], [variant(b, rng) for _, b in rows]


def labelled_pairs(n, seed):
    """Half paraphrases (label 1), half a wording of another group (label 0)."""
    rng = np.random.default_rng(seed)
    a, b, labels = [], [], []
    for i in range(n):
        g = int(rng.integers(len(GROUPS)))
        h = g if i % 2 else (g + 1 + int(rng.integers(len(GROUPS) - 1))) % len(GROUPS)
        a.append(variant(GROUPS[g][0], rng))
        b.append(variant(GROUPS[h][1], rng))
        labels.append(str(i % 2))
    return a, b, labels


def test_contrastive_fit_learns_paraphrases_and_roundtrips(tokenizer, tmp_path):
    sim = make_similarity(tokenizer)
    dev = labelled_pairs(128, 1)
    before = sim.evaluate(*dev)["auc"]
    texts, pairs = paraphrases(512, 0)
    summary = sim.fit(texts, pairs, None, *dev, epochs=3, batch_size=16, learning_rate=3e-3, eval_every=32)
    after = sim.evaluate(*dev)
    assert after["auc"] >= 0.95 and after["auc"] > before + 0.1, (before, after, summary["best"])
    threshold = sim.tune_threshold(*labelled_pairs(128, 2))
    tuned = sim.evaluate(*dev)
    assert tuned["threshold"] == threshold and tuned["accuracy"] >= 0.85
    assert min(tuned["recall_per_class"].values()) >= 0.7  # both answers are given
    vectors = sim.embed(dev[0])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    sim.save_pretrained(tmp_path / "sim")
    again = TextSimilarity.from_pretrained(tmp_path / "sim")
    assert again.threshold == threshold
    np.testing.assert_allclose(again.similarity(dev[0], dev[1]), sim.similarity(dev[0], dev[1]), atol=1e-5)
    served = TextSimilarity.from_pretrained(sim.export(tmp_path / "export"), backend="inference", threads=1)
    assert served.threshold == threshold
    np.testing.assert_allclose(served.similarity(dev[0], dev[1], batch_size=5), sim.similarity(dev[0], dev[1]),
                               atol=1e-5)


def test_labelled_pairs_train_with_cosent(tokenizer):
    """With 0/1 labels every pair trains (CoSENT): similar pairs end above dissimilar ones."""
    sim = make_similarity(tokenizer)
    dev = labelled_pairs(128, 1)
    before = sim.evaluate(*dev)["auc"]
    sim.fit(*labelled_pairs(512, 4), epochs=3, batch_size=32, learning_rate=3e-3)
    after = sim.evaluate(*dev)["auc"]
    assert after >= 0.95 and after > before + 0.1, (before, after)
    with pytest.raises(ValueError, match="labels"):
        sim.fit(["a", "b"], ["c", "d"], ["1"])


def cosent_reference(cosines, labels, scale=20.0):
    terms = [scale * (cosines[j] - cosines[i]) for i in range(len(labels)) for j in range(len(labels))
             if labels[i] > labels[j]]
    return np.log1p(np.exp(terms).sum())


def test_cosent_loss_matches_its_formula():
    from roots_zh.modeling.heads import cosent_loss

    cosines = np.array([0.9, 0.2, 0.5, -0.1], dtype=np.float32)
    labels = np.array([1, 0, 1, 0])
    got = float(cosent_loss(paddle.to_tensor(cosines), paddle.to_tensor(labels)))
    assert abs(got - cosent_reference(cosines, labels)) < 1e-4
    assert float(cosent_loss(paddle.to_tensor(cosines), paddle.to_tensor(np.ones(4, dtype=np.int64)))) == 0.0


def test_single_texts_train_as_their_own_positives(tokenizer):
    """``None`` pairs (SimCSE's dropout views) train without error and keep vectors unit length."""
    sim = make_similarity(tokenizer)
    texts, _ = paraphrases(64, 3)
    summary = sim.fit(texts, [None] * len(texts), epochs=1, batch_size=16, learning_rate=1e-3)
    assert summary["steps"] == 4
    np.testing.assert_allclose(np.linalg.norm(sim.embed(texts[:5]), axis=1), 1.0, atol=1e-5)


def test_predict_shapes_and_bad_inputs(tokenizer):
    sim = make_similarity(tokenizer)
    one = sim.predict("服务很好", "服务不错")
    assert set(one) == {"text1", "text2", "similarity", "label"} and one["label"] in ("0", "1")
    assert -1.0 <= one["similarity"] <= 1.0
    rows = sim.predict(["服务很好", "房间干净"], ["服务不错", "房间太脏"])
    assert [r["text2"] for r in rows] == ["服务不错", "房间太脏"]
    assert sim.predict([], []) == []
    with pytest.raises(ValueError, match="text_pairs"):
        sim.similarity(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="labels"):
        sim.evaluate(["a", "b"], ["c", "d"], ["1", "yes"])
    with pytest.raises(ValueError, match="both"):
        sim.tune_threshold(["a", "b"], ["c", "d"], [1, 1])
    with pytest.raises(ValueError, match="temperature"):
        sim.fit(["a"], ["b"], temperature=0)
    with pytest.raises(ValueError, match="eval_text_pairs"):
        sim.fit(["a"], ["b"], eval_texts=["a"])
    with pytest.raises(TypeError, match="texts"):
        sim.embed(3)
