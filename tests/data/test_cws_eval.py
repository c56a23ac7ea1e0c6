"""SIGHAN-style word-segmentation scoring: gold reader (U+3000 too), span P/R/F1, `score_segmenter` with
words / pairs / triples, and real PKU figures (skipped without the shared data)."""
import pytest

from roots_zh.data.cws import (load_cws_test, prediction_spans, read_cws_gold, score_segmenter,
                               words_to_spans)
from roots_zh.metrics import entity_prf


@pytest.fixture()
def gold_file(tmp_path):
    path = tmp_path / "gold.utf8"
    path.write_text("共同  创造  美好  的  新  世纪\n\n迎接\u3000新\u3000世纪\n", encoding="utf-8")
    return path


def test_read_cws_gold_removes_spaces_and_keeps_word_spans(gold_file):
    examples, report = read_cws_gold(gold_file)
    assert report.read == 2 and [e.text for e in examples] == ["共同创造美好的新世纪", "迎接新世纪"]
    assert examples[1].entities == [("w", 0, 2), ("w", 2, 3), ("w", 3, 5)]
    assert words_to_spans(["共同", "创造"]) == [("w", 0, 2), ("w", 2, 4)]


def test_span_f1_sighan_convention():
    gold = [words_to_spans(["共同", "创造", "美好"])]
    pred = [words_to_spans(["共同", "创", "造", "美好"])]
    scores = entity_prf(gold, pred)
    assert scores["precision"] == pytest.approx(2 / 4) and scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_prediction_spans_accepts_words_pairs_triples_and_skips_whitespace():
    text = "迎接新世纪"
    assert prediction_spans(["迎接", " ", "新", "世纪"], text) == [("w", 0, 2), ("w", 2, 3), ("w", 3, 5)]
    assert prediction_spans([(0, 2), (2, 5)], text) == [("w", 0, 2), ("w", 2, 5)]
    assert prediction_spans([("迎接", 0, 2), ("新世纪", 2, 5)], text) == [("w", 0, 2), ("w", 2, 5)]
    assert prediction_spans([], text) == []


def test_score_segmenter_perfect_and_char_baseline(gold_file):
    gold = {e.text: [e.text[s:t] for _, s, t in e.entities] for e in read_cws_gold(gold_file)[0]}
    perfect = score_segmenter(lambda t: gold[t], str(gold_file))
    assert perfect["f1"] == 1.0 and perfect["sentences"] == 2 and perfect["n_gold"] == 9
    chars = score_segmenter(list, str(gold_file), limit=1)
    assert chars["sentences"] == 1 and chars["n_pred"] == 10 and chars["precision"] == pytest.approx(2 / 10)


def test_gold_file_relative_to_the_data_root(gold_file):
    (gold_file.parent / "cws" / "train").mkdir(parents=True)
    (gold_file.parent / "cws" / "train" / "x.utf8").write_text(gold_file.read_text("utf-8"), encoding="utf-8")
    examples, _ = load_cws_test("train/x.utf8", gold_file.parent)
    assert [e.text for e in examples] == ["共同创造美好的新世纪", "迎接新世纪"]


def test_score_segmenter_validation(gold_file):
    with pytest.raises(ValueError, match="`dataset`"):
        score_segmenter(list, "ctb")
    with pytest.raises(ValueError, match="`limit`"):
        score_segmenter(list, str(gold_file), limit=0)
    with pytest.raises(TypeError, match="`segment_fn`"):
        score_segmenter("jieba", str(gold_file))


def test_real_pku_jieba_first_sentences():
    from tests.conftest import shared_data

    root = shared_data()
    if not (root / "cws" / "test" / "pku_test_gold.utf8").is_file():
        pytest.skip("SIGHAN PKU gold test not in shared data")
    jieba = pytest.importorskip("jieba")
    examples, _ = load_cws_test("pku", root)
    assert len(examples) == 1944 and sum(len(e.entities) for e in examples) == 104372  # SOURCE.md counts
    scores = score_segmenter(lambda t: jieba.lcut(t, HMM=False), "pku", limit=200, data_root=root)
    assert scores["sentences"] == 200 and 0.75 < scores["f1"] < 0.92
