"""`tools/benchmark.py loco` (sentiment, leave one category out): rows, table, JSON, BENCHMARKS.md section
and chart from a fake two-category run (scorers and data monkeypatched: no model, no training), and the
real category loading when the shared data is present."""
import argparse
import json
from pathlib import Path

import pytest

from bench import loco, report
from bench.common import BaselineSkipped
from tests.conftest import REPO_ROOT

# category -> system -> accuracy (0..1); jiagu is "not installed" for phones
FAKE = {"books": {"roots_loco": 0.90, "tfidf_lr": 0.80, "snownlp": 0.85, "jiagu": 0.60, "roots_sentiment": 0.95},
        "phones": {"roots_loco": 0.70, "tfidf_lr": 0.75, "snownlp": 0.70, "roots_sentiment": 0.93}}
TEXTS = {"books": ["好书", "差", "还行", "不错"], "phones": ["卡顿", "流畅", "一般"]}


def _model(models_dir: Path, category: str, dataset: str) -> None:
    run_dir = models_dir / f"loco_{category}"
    (run_dir / "final").mkdir(parents=True)
    (run_dir / "final" / "config.json").write_text("{}")
    (run_dir / "result.json").write_text(json.dumps({"recipe": {"dataset": dataset}, "test": {"accuracy": 0.9}}))


def _scorers(category):
    def make(key):
        def score(texts, gold):
            if key not in FAKE[category]:
                raise BaselineSkipped(f"{key} is not installed")
            out = {"accuracy": FAKE[category][key], "n": len(texts)}
            if key == "roots_sentiment":
                out.update(n_unseen=1, unseen_accuracy=1.0)
            return out
        return score
    return {key: make(key) for key in loco.SYSTEMS}


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    models = tmp_path / "ft"
    _model(models, "books", "online_shopping_loco:books")
    _model(models, "phones", "sentiment_general")  # a general model in a LOCO slot: flagged
    (models / "loco_hotels" / "best").mkdir(parents=True)  # still training: no final/ -> skipped
    results, refreshed = tmp_path / "results", []
    results.mkdir()
    monkeypatch.setattr(loco, "RESULTS_DIR", results)
    monkeypatch.setattr(loco, "PLOTS_DIR", tmp_path / "plots")
    monkeypatch.setattr(loco, "data_dir", lambda override: tmp_path)
    monkeypatch.setattr(loco, "refresh_sections", lambda *names, quick=False: refreshed.append((names, quick)))
    monkeypatch.setattr(loco, "load_category", lambda root, category, limit: {
        "name": category, "n_total": 100, "texts": TEXTS[category][:limit],
        "gold": [True] * len(TEXTS[category][:limit]), "seen": [True] * len(TEXTS[category][:limit])})
    monkeypatch.setattr(loco, "category_scorers", lambda model_dir, data: _scorers(data["name"]))

    def run(*categories, limit=None):
        args = argparse.Namespace(categories=list(categories), models_dir=str(models), limit=limit, data_dir=None)
        assert loco.run(args) == 0
        return json.loads((results / ("loco_quick.json" if limit else "loco.json")).read_text(encoding="utf-8"))

    return run, results, refreshed, tmp_path


def test_fake_run_rows_table_json_and_section(fake_run, capsys):
    run, results, refreshed, tmp_path = fake_run
    result = run("books", "phones", "fruit", "hotels")
    out = capsys.readouterr().out
    rows = {r["category"]: r for r in result["rows"]}
    assert [r["category"] for r in result["rows"]] == ["books", "phones"]  # default order
    books, phones = rows["books"], rows["phones"]
    assert books["n"] == 4 and phones["n"] == 3 and books["n_total"] == 100
    assert books["scores"] == {"roots_loco": 90.0, "tfidf_lr": 80.0, "snownlp": 85.0, "jiagu": 60.0,
                               "roots_sentiment": 95.0}
    assert books["beats_peers"] is True and books["warnings"] == []
    assert books["model"]["finetune_test_accuracy"] == 0.9
    assert books["reference_unseen"] == {"n": 1, "accuracy": 100.0}
    assert "jiagu" not in phones["scores"] and phones["beats_peers"] is None  # a peer missing: undecided
    assert phones["warnings"] and "NOT a held-out figure" in phones["warnings"][0]
    assert "finetune_test_accuracy" not in phones["model"]
    skipped = " ".join(result["skipped"])
    assert "phones: jiagu skipped" in skipped and "fruit:" in skipped and "hotels:" in skipped
    assert "no final/" in skipped and result["quick"] is False and refreshed == [(("loco",), False)]
    # the printed table
    header = next(line for line in out.splitlines() if line.startswith("category"))
    assert "ROOTS LOCO" in header and "SnowNLP" in header and "Jiagu" in header
    assert "roots-sentiment (ref., not held out)" in header and "LOCO beats both peers" in header
    table = out[out.index(header):].splitlines()
    books_line = next(line for line in table if line.startswith("books "))
    assert "90.00" in books_line and "yes" in books_line
    # the BENCHMARKS.md section, through the report mechanism
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n")
    assert report.regenerate(["loco"], results_dir=results, target=target) == ["loco"]
    md = target.read_text(encoding="utf-8")
    assert "<!-- BEGIN loco -->" in md and "`python tools/benchmark.py loco`" in md
    assert "| books books (4) | **90.0** | 80.0 | 85.0 | 60.0 | 95.0 | 100.0 (1) | yes |" in md
    assert "| phones phones (3) ⚠ not a LOCO model | **70.0** | 75.0 | 70.0 | — | 93.0 |" in md
    assert "reference, not held out" in md and "beats both SnowNLP and Jiagu on 1 of 1" in md
    if result["chart"]:  # matplotlib installed
        assert (tmp_path / "plots" / "loco.png").read_bytes()[:4] == b"\x89PNG"
        assert "![loco](" in md


def test_partial_and_limited_runs(fake_run):
    run, results, refreshed, _ = fake_run
    run("books", "phones")
    FAKE["books"]["roots_loco"], before = 0.80, FAKE["books"]["roots_loco"]
    try:
        again = run("books")  # re-scores books, keeps phones
    finally:
        FAKE["books"]["roots_loco"] = before
    rows = {r["category"]: r for r in again["rows"]}
    assert set(rows) == {"books", "phones"} and rows["books"]["scores"]["roots_loco"] == 80.0
    assert rows["books"]["beats_peers"] is False  # 80 < SnowNLP 85
    quick = run("books", limit=2)  # a limited run is quick: its own file, no BENCHMARKS.md section
    assert quick["quick"] is True and quick["rows"][0]["n"] == 2
    assert refreshed[-1] == (("loco",), True)
    assert json.loads((results / "loco.json").read_text())["rows"][0]["n"] == 4  # full figures untouched


def test_ties_do_not_beat_and_scorers_must_score_the_same_texts():
    assert loco.beats_peers({"roots_loco": 85.0, "snownlp": 85.0, "jiagu": 60.0}) is False
    bad = {"roots_loco": lambda texts, gold: {"accuracy": 1.0, "n": len(texts) - 1}}
    with pytest.raises(RuntimeError, match="not the 3 given"):
        loco.score_category("books", ["a", "b", "c"], [True, False, True], bad)
    with pytest.raises(ValueError, match="not valid"):
        loco.run(argparse.Namespace(categories=["nope"], models_dir=".", limit=None, data_dir=None))


def test_evenly_spaced_and_real_category_data():
    from roots_zh.data.readers import evenly_spaced

    assert evenly_spaced(list(range(10)), 3) == [0, 3, 6] and evenly_spaced([1, 2], None) == [1, 2]
    from roots_zh.utils.env import shared_data_root

    root = shared_data_root()
    if not (root / "sentiment_extra" / "online_shopping_10_cats.tsv").is_file():
        pytest.skip(f"online_shopping_10_cats.tsv not under {root}")
    data = loco.load_category(root, "books", 40)
    assert data["name"] == "书籍" and len(data["texts"]) == len(data["gold"]) == len(data["seen"]) == 40
    assert 0 < sum(data["gold"]) < 40  # the file is sorted by label: the subset keeps both
    assert data["n_total"] > 1000 and len(data["train_texts"]) > 10 * data["n_total"]
    assert not set(data["texts"]) & set(data["train_texts"])  # held out of the LOCO train split
    assert 0.5 < sum(data["seen"]) / 40 < 1  # the general model saw most (train slice), not all


def test_held_out_for_peers_scores_only_texts_snownlp_never_trained_on(monkeypatch):
    from bench import peers

    texts = [f"t{i}" for i in range(300)]
    trained = set(texts[:100])  # SnowNLP "trained" on the first 100
    monkeypatch.setattr(peers, "in_peer_training", lambda name, ts: [t in trained for t in ts])
    correct = {"roots_loco": [True] * 100 + [True, False] * 100,  # 50 % on the held-out 200
               "snownlp": [True] * 100 + [False, False, True, False] * 50,  # 25 % there, 50 % overall
               "jiagu": [False] * 300}
    held = loco.held_out_for_peers(texts, correct)
    assert held["n"] == 200 and held["snownlp_trained_on"] == 100
    assert held["scores"] == {"roots_loco": 50.0, "snownlp": 25.0, "jiagu": 0.0} and held["beats_peers"] is True
    row = {"n": 300, "held_out_for_peers": held}
    assert loco._trained_on(row) == "100 (33.3 %)"
    assert loco._held_out_cell(row) == "50.0 / 25.0 (200, LOCO ahead of both)"
    few = loco.held_out_for_peers(texts[:150], {k: v[:150] for k, v in correct.items()})
    assert few["n"] == 50 and few["beats_peers"] is None  # fewer than MIN_HELD_OUT: no verdict
    assert loco._held_out_cell({"n": 150, "held_out_for_peers": few}).endswith("(50)")
