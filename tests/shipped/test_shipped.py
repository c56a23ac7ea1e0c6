"""The shipped roots-base: registered, sha256-verified, loads with no download, runs fill-mask."""
import json
import subprocess
import sys

import pytest

from roots_zh.hub import load_registry

pytestmark = pytest.mark.skipif("roots-base" not in load_registry(), reason="roots-base not shipped yet")


def test_roots_base_loads_into_every_head():
    from roots_zh import (RootsForMaskedLM, RootsForPrefixLM, RootsForQuestionAnswering,
                          RootsForSequenceClassification, RootsForTokenClassification)
    from roots_zh.pipelines.text_classification import TextClassifier

    mlm = RootsForMaskedLM.from_pretrained("roots-base")
    for cls in (RootsForPrefixLM, RootsForQuestionAnswering, RootsForTokenClassification):
        model = cls.from_pretrained("roots-base")
        assert model.roots.embeddings.word_embeddings.weight.shape == mlm.roots.embeddings.word_embeddings.weight.shape
    clf = TextClassifier.from_pretrained("roots-base", labels=["负面", "正面"])
    assert clf.predict("这家酒店服务很好")["label"] in ("负面", "正面")
    assert RootsForSequenceClassification.from_pretrained("roots-base", num_labels=15).config.num_labels == 15


def test_cli_fill_mask_main_job():
    out = subprocess.run([sys.executable, "-m", "roots_zh.cli", "fill_mask", "中国的首都是北[MASK]。"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["text"] == "中国的首都是北[MASK]。"
    assert len(row["predictions"]) == 1 and len(row["predictions"][0]) == 5
    assert all(0 <= p["score"] <= 1 for p in row["predictions"][0])
