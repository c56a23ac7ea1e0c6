"""BENCHMARKS.md generation (`tools/benchmark.py report`): the imports / tokenize / train / finetune
sections from results JSON, missing-result notes, and quick results never feeding a section."""
import json

import pytest
from bench import finetune_results, imports, report, tokenizer_speed as tokenize, train
from bench.common import RESULTS_DIR, run_context, write_result

SECTIONS = ["imports", "tokenize", "train", "finetune"]


def _shipped(name: str) -> dict:
    path = RESULTS_DIR / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} not in this checkout")
    return json.loads(path.read_text(encoding="utf-8"))


def _section(text: str, name: str) -> str:
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    return text[text.index(begin) + len(begin):text.index(end)]


def _finetune(task, init, dev, test=None, **extra) -> dict:
    out = {"task": task, "model": "roots-base", "init": init, "dev": {"step": 10, "accuracy": dev, "n": 100},
           "train_seconds": 12.0, "recipe": {"epochs": 1, "max_length": 64, "learning_rate": 2e-4,
                                             "batch_size": 16, "seed": 42}, **extra}
    if test is not None:
        out["test"] = {"accuracy": test, "n": 50}
    return out


def test_imports_section_columns_and_target():
    md = imports.markdown(_shipped("imports"))
    assert "| case | median s | vs `import paddle` |" in md
    assert "`python tools/benchmark.py imports" in md and "CPU cores" in md
    assert "(target ≤ 1.3)" in md and "| `import paddle` | " in md and "| 1.00 |" in md


def test_tokenize_section_ratios_and_parity():
    result = _shipped("tokenize")
    md = tokenize.markdown(result)
    assert "| tokenizer | chars/s | vs PaddleNLP `BertTokenizer` |" in md
    assert "PaddleNLP `BertTokenizer`, per text" in md and "| 1.00 |" in md
    assert f"{result['lines']:,} real corpus lines" in md
    assert ("--quick" in md) == bool(result.get("quick"))  # a quick run says so in its command
    assert "Id parity" in md


def test_train_section_mfu_columns():
    result = _shipped("train")
    md = train.markdown(result)
    peak = result["matmul_peak"]
    assert "| step | tokens/s | model GFLOP/s | MFU | MFU vs numpy peak | speed-up |" in md
    assert f"numpy {peak['numpy_gflops']:.1f} GFLOP/s" in md
    assert f"{peak['paddle_fast_path_gflops']:.1f} with the MKL fast path" in md
    assert f"best of these ({peak['best_gflops']:.1f})" in md
    assert any(r["variant"].startswith("+ MKL fast path") for r in result["rows"])
    assert md.count("\n| ") == len(result["rows"]) + 1  # header + one line per variant
    last = result["rows"][-1]["speedup_vs_baseline"]
    assert f"**{last:.2f}**" in md


def test_run_context_marks_shared_runs():
    env = {"time": "2026-11-22T13:58:01", "machine": "x86_64", "cpu_count": 2}
    assert run_context({"environment": {**env, "load_avg_1m": 3.7}}).endswith("load avg 3.7 (*shared*)")
    assert "shared" not in run_context({"environment": {**env, "load_avg_1m": 1.2}})
    assert run_context({}) == "date and machine not recorded"


def test_missing_results_name_their_command(tmp_path):
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\nhand-written prose\n", encoding="utf-8")
    assert report.regenerate(SECTIONS, results_dir=tmp_path, target=target) == SECTIONS
    text = target.read_text(encoding="utf-8")
    assert "hand-written prose" in text
    for name in ("imports", "tokenize", "train"):
        body = _section(text, name)
        assert "No results yet" in body and f"`python tools/benchmark.py {name}`" in body
    assert "python tools/finetune.py" in _section(text, "finetune")


def test_quick_results_never_feed_sections(tmp_path):
    write_result("imports", {"quick": True, "rounds": 3, "rows": []}, results_dir=tmp_path)
    (tmp_path / "finetune_chnsenticorp_random_quick.json").write_text(
        json.dumps(_finetune("chnsenticorp", "random", 0.5)), encoding="utf-8")
    assert (tmp_path / "imports_quick.json").is_file() and not (tmp_path / "imports.json").exists()
    target = tmp_path / "B.md"
    report.regenerate(["imports", "finetune"], results_dir=tmp_path, target=target)
    text = target.read_text(encoding="utf-8")
    assert "No results yet" in _section(text, "imports")
    assert "No results yet" in _section(text, "finetune")


def test_finetune_section_gain_and_paddlenlp_column(tmp_path):
    for init, dev, test in (("pretrained", 0.9025, 0.9067), ("random", 0.8925, 0.8967), ("paddlenlp", 0.88, 0.885)):
        write_result(f"finetune_chnsenticorp_{init}", _finetune("chnsenticorp", init, dev, test),
                     results_dir=tmp_path)
    write_result("finetune_tnews_pretrained", _finetune("tnews", "pretrained", 0.4767), results_dir=tmp_path)
    md = finetune_results.markdown_from_results(tmp_path)
    assert "| task | split (n) | metric | random init | roots-base | gain | PaddleNLP ERNIE" in md
    assert "| chnsenticorp | dev (100) | accuracy | 89.25 | **90.25** | +1.00 | 88.00 |" in md
    assert "| chnsenticorp | test (50) | accuracy | 89.67 | **90.67** | +1.00 | 88.50 |" in md
    assert "| tnews | dev (100) | accuracy | — | **47.67** | — | — |" in md
    assert "finetune_tnews_random.json" in md and "--init random" in md  # what is missing, and its command
    assert "`python tools/benchmark.py accuracy --tasks tnews`" in md


def test_finetune_section_without_paddlenlp_has_no_column(tmp_path):
    for init in ("pretrained", "random"):
        write_result(f"finetune_tnews_{init}", _finetune("tnews", init, 0.45), results_dir=tmp_path)
    md = finetune_results.markdown_from_results(tmp_path)
    assert "PaddleNLP ERNIE" not in md.split("\n\n")[2]  # the table header
    assert "paddlenlp_same_size" in md


def test_shipped_finetune_results_render():
    if not list(RESULTS_DIR.glob("finetune_*_pretrained.json")):
        pytest.skip("no fine-tuning results in this checkout")
    md = finetune_results.markdown_from_results(RESULTS_DIR)
    assert "| chnsenticorp | test (1,200) | accuracy |" in md


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown BENCHMARKS.md sections"):
        report.regenerate(["nope"], results_dir=tmp_path, target=tmp_path / "B.md")
    with pytest.raises(ValueError, match="init"):
        finetune_results.result_path("tnews", "scratch")


def test_refresh_sections_is_a_no_op_for_quick_runs():
    assert report.refresh_sections("imports", quick=True) == []


def test_update_section_replaces_only_between_markers():
    text = "a\n<!-- BEGIN x -->\nold\n<!-- END x -->\nb\n"
    out = report.update_section(text, "x", "new")
    assert out == "a\n<!-- BEGIN x -->\nnew\n<!-- END x -->\nb\n"
    assert report.update_section("a\n", "y", "z").endswith("<!-- BEGIN y -->\nz\n<!-- END y -->\n")


def test_accuracy_speed_line_puts_both_backends_next_to_the_peers():
    from bench.accuracy import speed_line

    row = {"task": "cws_pku", "model": "roots-cws", "all_metrics": {"sentences_per_s": 131.5, "backend": "inference", "sentences": 1944,
                                              "dygraph_sentences_per_s": 80.2, "dygraph_differing_sentences": 0},
           "baseline_metrics": {"thulac_cws": {"f1": 0.92, "sentences_per_s": 1321.5}, "tfidf": {"f1": 0.5}}}
    assert speed_line(row) == ("cws_pku: roots-cws (inference) 131.5, roots-cws (dygraph) 80.2 (0 of 1944 "
                               "sentences segmented differently); thulac_cws 1,321.5 sentences/s")
    assert speed_line({"task": "tnews", "all_metrics": {"accuracy": 0.5}}) == ""


def test_eval_cws_times_the_default_and_the_compared_backend(tmp_path, monkeypatch):
    from bench.accuracy_spans import eval_cws
    from roots_zh.hub import load_registry
    from tests.conftest import shared_data

    if "roots-cws" not in load_registry():
        pytest.skip("roots-cws not shipped")
    monkeypatch.setenv("ROOTS_HOME", str(tmp_path / "home"))
    spec = {"model": "roots-cws", "dataset": "pku", "compare_backends": ["dygraph"]}
    m = eval_cws(spec, shared_data(), 8)
    from roots_zh.inference.predictor import resolve_cpu_precision

    precision = resolve_cpu_precision("auto")  # accurate mode's default
    assert m["n"] == 8 and m["backend"] == f"inference {precision}" and m["sentences_per_s"] > 0
    assert m["dygraph_sentences_per_s"] > 0
    if precision == "fp32":  # the same math as dygraph: the same words
        assert m["dygraph_f1"] == m["f1"] and m["dygraph_differing_sentences"] == 0
    else:  # bf16 rounding may move a boundary (18 of 1,944 PKU sentences in the full run)
        assert m["dygraph_differing_sentences"] <= 2 and abs(m["dygraph_f1"] - m["f1"]) <= 0.05
