"""Linear-chain CRF: the partition and loss against brute-force enumeration, Viterbi with learned
scores, and a CRF head that trains, saves, reloads and exports with its scores."""
import itertools

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from roots_zh.data.ner_qa import tag_names, viterbi_paths  # noqa: E402
from roots_zh.modeling import RootsConfig, RootsForTokenClassification  # noqa: E402
from roots_zh.modeling.crf import crf_loss, log_partition  # noqa: E402


def path_score(emissions, scores, positions, path):
    n = emissions.shape[-1]
    total = scores[n][path[0]] + scores[n + 1][path[-1]]
    total += sum(emissions[p][y] for p, y in zip(positions, path))
    return total + sum(scores[a][b] for a, b in zip(path, path[1:]))


def test_partition_and_loss_match_enumeration_and_skip_ignored_positions():
    rng = np.random.default_rng(0)
    n_tags, length = 3, 5
    emissions = rng.normal(size=(1, length, n_tags)).astype("float32")
    scores = rng.normal(size=(n_tags + 2, n_tags)).astype("float32")
    labels = np.array([[-100, 1, -100, 2, 0]])  # positions 0 and 2 do not take part
    positions = [1, 3, 4]
    all_scores = [path_score(emissions[0], scores, positions, p)
                  for p in itertools.product(range(n_tags), repeat=len(positions))]
    log_z = np.log(np.exp(all_scores).sum())
    got = log_partition(paddle.to_tensor(emissions), paddle.to_tensor(labels != -100), paddle.to_tensor(scores))
    assert float(got[0]) == pytest.approx(log_z, rel=1e-5)
    gold = path_score(emissions[0], scores, positions, (1, 2, 0))
    loss = crf_loss(paddle.to_tensor(emissions), paddle.to_tensor(labels), paddle.to_tensor(scores))
    assert float(loss) * len(positions) == pytest.approx(log_z - gold, rel=1e-5)


def test_viterbi_with_crf_scores_is_the_best_allowed_path():
    rng = np.random.default_rng(1)
    tags = tag_names(["a"], "BIO")  # O, B-a, I-a
    probs = rng.random((4, len(tags)))
    crf = rng.normal(size=(len(tags) + 2, len(tags)))
    best, best_path = -np.inf, None
    for path in itertools.product(range(len(tags)), repeat=4):
        names = [tags[k] for k in path]
        if any(t == "I-a" and (i == 0 or names[i - 1] == "O") for i, t in enumerate(names)):
            continue  # the scheme's rule: I-a only continues an entity
        s = path_score(np.log(probs + 1e-12), crf, range(4), path)
        if s > best:
            best, best_path = s, list(path)
    assert viterbi_paths([probs], tags, "BIO", crf=crf)[0].tolist() == best_path
    with pytest.raises(ValueError, match="crf"):
        viterbi_paths([probs], tags, "BIO", crf=crf[:2])


def test_crf_head_learns_transitions_and_keeps_them_through_save_and_export(tmp_path):
    from roots_zh.pipelines.token_classification import TokenClassifier
    from tests.conftest import REPO_ROOT
    from roots_zh.tokenization.auto import AutoTokenizer

    paddle.seed(0)
    tok = AutoTokenizer.from_pretrained(REPO_ROOT / "pretrained" / "roots-base", tokenize_chinese_chars=True)
    tags = tag_names(["PER", "LOC"], "BIO")
    cfg = RootsConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, num_labels=len(tags), id2label=dict(enumerate(tags)), crf=True)
    pipe = TokenClassifier(RootsForTokenClassification(cfg), tok, max_length=32)
    texts, ents = ["李白出生于碎叶城。"] * 16, [[("PER", 0, 2), ("LOC", 5, 8)]] * 16
    pipe.fit(texts, ents, epochs=20, batch_size=8, learning_rate=3e-3, output_dir=str(tmp_path / "run"))
    scores = pipe.crf_scores
    o, b_loc, i_per = tags.index("O"), tags.index("B-LOC"), tags.index("I-PER")
    assert scores[i_per, o] > scores[i_per, b_loc]  # learned: after 李白 comes O (出), not a location
    assert [(e["type"], e["text"]) for e in pipe.predict(texts[0])["entities"]] == [("PER", "李白"), ("LOC", "碎叶城")]
    pipe.save_pretrained(tmp_path / "m")
    again = TokenClassifier.from_pretrained(tmp_path / "m")
    np.testing.assert_allclose(again.crf_scores, scores, atol=1e-4)
    again.export(tmp_path / "m" / "inference")
    served = TokenClassifier.from_pretrained(tmp_path / "m" / "inference", backend="inference")
    np.testing.assert_allclose(served.crf_scores, scores, atol=1e-4)
    assert served.predict(texts[0]) == again.predict(texts[0])
    fresh = TokenClassifier.from_pretrained(tmp_path / "m", labels=["ORG"])  # a new head: no CRF unless asked
    assert fresh.crf_scores is None and fresh.model.crf is None
    with pytest.raises(ValueError, match="crf"):
        TokenClassifier.from_pretrained(tmp_path / "m", crf=True)


def test_lora_keeps_the_crf_scores_trainable():
    from roots_zh.modeling.adapters import apply_lora

    cfg = RootsConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, num_labels=3, crf=True)
    model = RootsForTokenClassification(cfg)
    apply_lora(model)
    assert not model.crf.stop_gradient
    assert any(p.stop_gradient for p in model.parameters())  # the encoder is frozen
