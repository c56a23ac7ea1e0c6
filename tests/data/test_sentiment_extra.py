"""online_shopping_10_cats: reader, seeded per-(category, label) held-out slices, leave-one-category-out,
the dataset names `load_classification_set` understands, and the two new recipes."""
import json
from collections import Counter
from pathlib import Path

import pytest

from roots_zh.data.readers import load_classification_set
from roots_zh.data.sentiment_extra import (CategoryExample, leave_one_category_out, read_online_shopping,
                                           resolve_category, stratified_splits)
from tests.conftest import REPO_ROOT

REPO = REPO_ROOT


def _toy(n_per=40):
    return [CategoryExample(f"{cat}{label}评论{i}", str(label), category=cat)
            for cat in ("水果", "酒店", "热水器") for label in (0, 1) for i in range(n_per if cat != "热水器" else 10)]


def test_stratified_splits_are_disjoint_seeded_and_proportional():
    data = _toy()
    splits = stratified_splits(data)
    assert sum(len(v) for v in splits.values()) == len(data)
    ids = [{e.text for e in splits[s]} for s in ("train", "dev", "test")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    test = Counter((e.category, e.label) for e in splits["test"])
    assert test[("水果", "0")] == 2 and test[("水果", "1")] == 2 and test[("热水器", "1")] == round(10 * 0.05)
    assert stratified_splits(data) == splits  # same seed, same slices
    assert [e.text for e in stratified_splits(data, seed=7)["test"]] != [e.text for e in splits["test"]]
    only_fruit = stratified_splits([e for e in data if e.category == "水果"])
    assert [e.text for e in only_fruit["test"]] == [e.text for e in splits["test"] if e.category == "水果"]
    with pytest.raises(ValueError, match="dev_fraction"):
        stratified_splits(data, dev_fraction=0.6, test_fraction=0.5)


def test_leave_one_category_out_and_aliases():
    splits = stratified_splits(_toy())
    loco = leave_one_category_out(splits, "hotels")
    assert all(e.category != "酒店" for s in ("train", "dev") for e in loco[s])
    assert len(loco["test"]) == 80 and {e.category for e in loco["test"]} == {"酒店"}
    assert resolve_category("水果") == "水果" and resolve_category("Water_Heaters") == "热水器"
    with pytest.raises(ValueError, match="`category`"):
        resolve_category("cars")


def test_reader_skips_bad_rows(tmp_path):
    path = tmp_path / "os.tsv"
    path.write_text("cat\tlabel\treview\n水果\t1\t很甜\n水果\t2\t坏标签\n衣服\t0\n衣服\t0\t   \n", encoding="utf-8")
    examples, report = read_online_shopping(path)
    assert [(e.category, e.label, e.text) for e in examples] == [("水果", "1", "很甜")] and report.skipped == 3


def test_dataset_name_errors():
    with pytest.raises(ValueError, match="a category goes with online_shopping_loco"):
        load_classification_set(Path("."), "online_shopping_loco", "train")
    with pytest.raises(ValueError, match="`split`"):
        load_classification_set(Path("."), "online_shopping", "validation")
    with pytest.raises(ValueError, match="`name`"):
        load_classification_set(Path("."), "weibo_senti", "train")


def test_recipes_parse_and_match_the_brief():
    general = json.loads((REPO / "tasks/sentiment_general/recipe.json").read_text(encoding="utf-8"))
    assert general["dataset"] == "sentiment_general" and general["pooling"] == "cls"
    assert (general["max_length"], general["epochs"], general["batch_size"], general["learning_rate"]) == (128, 2, 32, 5e-4)
    loco = json.loads((REPO / "tasks/sentiment_loco/recipe.json").read_text(encoding="utf-8"))
    assert loco["dataset"].startswith("online_shopping_loco:")
    afqmc = json.loads((REPO / "tasks/afqmc/recipe.json").read_text(encoding="utf-8"))
    assert afqmc["class_weights"] == "balanced" and afqmc["threshold"] == "auto" and afqmc["epochs"] > 1


def test_real_online_shopping_slices():
    from tests.conftest import shared_data

    root = shared_data()
    if not (root / "sentiment_extra" / "online_shopping_10_cats.tsv").is_file():
        pytest.skip("online_shopping_10_cats not in shared data")
    sizes = {s: len(load_classification_set(root, "online_shopping", s)[0]) for s in ("train", "dev", "test")}
    assert sum(sizes.values()) == 60262 and 2900 < sizes["test"] == sizes["dev"] < 3100
    test = load_classification_set(root, "online_shopping", "test")[0]
    assert len({e.category for e in test}) == 10
    general = load_classification_set(root, "sentiment_general", "train")[0]
    assert len(general) == 9600 + sizes["train"]
    assert len(load_classification_set(root, "sentiment_general", "test")[0]) == 1200  # ChnSentiCorp test
    loco_test = load_classification_set(root, "online_shopping_loco:dairy", "test")[0]
    assert len(loco_test) == 2017 and {e.category for e in loco_test} == {"蒙牛"}
