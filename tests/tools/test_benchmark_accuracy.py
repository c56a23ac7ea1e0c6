"""`accuracy --model`: a candidate directory is scored on a task's rows in place of the shipped model,
and the run records nothing (no results file, no floor failures)."""
import argparse

import pytest
from bench import accuracy


def _args(**kw):
    base = dict(quick=True, tasks=["segmentation"], data_dir=None, no_baselines=True, skip_baselines=[], model=None)
    return argparse.Namespace(**{**base, **kw})


def test_candidate_replaces_the_shipped_model_and_writes_nothing(monkeypatch, tmp_path):
    seen = []

    def fake_eval(spec, root, limit):
        seen.append(spec["model"])
        return {"f1": 0.0, "n": 1}  # below every floor: a candidate run still returns 0

    monkeypatch.setitem(accuracy.EVALUATORS, "cws", fake_eval)
    monkeypatch.setattr(accuracy, "write_result", lambda *a, **k: pytest.fail("a candidate run wrote results"))
    assert accuracy.run(_args(model=str(tmp_path / "cand"))) == 0
    assert seen and set(seen) == {str(tmp_path / "cand")}
    with pytest.raises(ValueError, match="--tasks"):
        accuracy.run(_args(model=str(tmp_path / "cand"), tasks=None))
