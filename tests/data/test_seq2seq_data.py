"""Seq2seq readers: counts on the real shared sets (SOURCE.md figures), malformed lines skipped with a
count, the Tatoeba split is deterministic and leak-free in both directions."""
from pathlib import Path

import pytest

from tests.conftest import shared_data
from roots_zh.data.seq2seq import (Pair, drop_overlap, group_split, load_seq2seq_set, read_csl, read_lcsts,
                                   read_parallel_lines, read_tatoeba)


@pytest.mark.parametrize("name,split,n", [
    ("lcsts", "train", 8666), ("csl", "train", 1000), ("csl", "dev", 1000), ("csl", "test", 1000),
    ("wmt", "newsdev2017", 2002), ("wmt", "newstest2017", 2001), ("wmt", "newstest2018", 3981),
    ("wmt", "newstest2019", 2000)])
def test_real_counts(name, split, n):
    pairs, report = load_seq2seq_set(shared_data(), name, split)
    assert len(pairs) == report.read == n and report.skipped == 0
    assert all(p.source and p.target for p in pairs)


def test_csl_column_orders_and_lcsts_quoting():
    root = shared_data()
    dev, _ = read_csl(root / "csl" / "dev.tsv")
    clge, _ = read_csl(root / "csl" / "clge_val.tsv")
    assert dev[0].target == "一种基于平方和优化的飞行器大角度机动镇定控制器设计方法"
    assert clge[0].target == "超立方体网络的3路结构连通度及子结构连通度"  # title first in CLGE's file
    assert max(len(p.target) for p in clge) < 60 < min(len(p.source) for p in clge)
    val, report = read_lcsts(root / "lcsts" / "val.tsv")
    assert len(val) == 1000 and report.skipped == 0  # CSV-quoted fields parse to 2 cells
    assert val[0].target == "李嘉诚回应“撤资”等质疑：是一个大笑话"
    test, rep = load_seq2seq_set(root, "lcsts", "test")
    train_sources = {p.source for p in load_seq2seq_set(root, "lcsts", "train")[0]}
    assert len(test) + rep.skipped == 1000 and rep.skipped >= 10  # SOURCE.md: 10 pairs overlap train
    assert not any(p.source in train_sources for p in test)


def test_tatoeba_split_is_deterministic_and_leak_free():
    root = shared_data()
    sizes = {}
    for direction in ("zh-en", "en-zh"):
        splits = {s: load_seq2seq_set(root, "tatoeba", s, direction=direction)[0] for s in ("train", "dev", "test")}
        sizes[direction] = {s: len(v) for s, v in splits.items()}
        assert sum(sizes[direction].values()) == 29155
        train_src, train_tgt = {p.source for p in splits["train"]}, {p.target for p in splits["train"]}
        for held in ("dev", "test"):
            assert not any(p.source in train_src or p.target in train_tgt for p in splits[held])
    assert sizes["zh-en"] == sizes["en-zh"] and 1200 < sizes["zh-en"]["test"] < 1700
    zh_en, _ = read_tatoeba(root / "zh_en" / "tatoeba_cmn" / "cmn.txt", "zh-en")
    assert zh_en[0] == Pair("嗨。", "Hi.")
    assert group_split(zh_en[::-1], "test") == group_split(zh_en, "test")[::-1]  # order-independent


def test_malformed_records_are_skipped_and_counted(tmp_path: Path):
    bad = tmp_path / "lcsts.tsv"
    bad.write_text('摘要一\t正文一\n只有一列\n\t正文\n"摘要""二"""\t"正文\t带制表符"\n摘要\t正文\t多一列\n\n',
                   encoding="utf-8")
    pairs, report = read_lcsts(bad)
    assert pairs == [Pair("正文一", "摘要一"), Pair("正文\t带制表符", '摘要"二"')]
    assert report.skipped == 3 and len(report.first_errors) == 3 and "line 2" in report.first_errors[0]
    src, tgt = tmp_path / "a.zh", tmp_path / "a.en"
    src.write_text("你好\n\n再见\n", encoding="utf-8")
    tgt.write_text("hello\nempty\n\n", encoding="utf-8")
    pairs, report = read_parallel_lines(src, tgt)
    assert pairs == [Pair("你好", "hello")] and report.skipped == 2
    tgt.write_text("one line\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line-aligned"):
        read_parallel_lines(src, tgt)
    with pytest.raises(FileNotFoundError):
        read_csl(tmp_path / "missing.tsv")
    with pytest.raises(ValueError, match="name"):
        load_seq2seq_set(tmp_path, "cnn", "train")
    with pytest.raises(ValueError, match="split"):
        load_seq2seq_set(tmp_path, "lcsts", "dev")
    with pytest.raises(ValueError, match="direction"):
        load_seq2seq_set(tmp_path, "wmt", "newstest2017", direction="de-en")
    kept, dropped = drop_overlap([Pair("a", "b"), Pair("c", "d")], [Pair("a", "x")])
    assert kept == [Pair("c", "d")] and dropped == 1


def test_zh_en_training_pairs_leave_every_test_set_out():
    from roots_zh.data.seq2seq import ZH_EN_TEST_FILES

    root = shared_data()
    train, report = load_seq2seq_set(root, "zh_en", "train")
    assert 100_000 < len(train) == report.read and len(set(train)) == len(train)  # ~120k minus duplicates
    sentences = {s for p in train for s in (p.source, p.target)}
    for name in ZH_EN_TEST_FILES:
        test, rep = load_seq2seq_set(root, "zh_en", name)
        assert len(test) >= 1000 and rep.skipped == 0
        assert not any(p.source in sentences or p.target in sentences for p in test)
    for split in ("dev", "test"):
        assert not any(p.source in sentences for p in load_seq2seq_set(root, "tatoeba", split)[0])
    assert not any(p.source in sentences for p in load_seq2seq_set(root, "wmt", "newstest2017")[0])
    en_zh, _ = load_seq2seq_set(root, "zh_en", "flores", direction="en-zh")
    zh_en, _ = load_seq2seq_set(root, "zh_en", "flores")
    assert en_zh[0] == Pair(zh_en[0].target, zh_en[0].source)


def test_headlines_are_mined_title_first_and_split_by_title(tmp_path):
    from roots_zh.data.seq2seq import read_title_first

    path = tmp_path / "news.txt"
    path.write_text("【专题】北京今天开通新地铁线路。" + "北京地铁新线今天上午开通运营，" * 5 + "\n"
                    "短。正文\n" + "没有句号的续写段落" * 10 + "\n", encoding="utf-8")
    pairs, report = read_title_first(path)
    assert [p.target for p in pairs] == ["北京今天开通新地铁线路"] and report.skipped == 2
    root = shared_data()
    splits = {s: load_seq2seq_set(root, "headlines", s)[0] for s in ("train", "dev", "test")}
    titles = {s: {p.target for p in v} for s, v in splits.items()}
    assert len(splits["train"]) > 30_000 and len(splits["test"]) > 800 and len(splits["dev"]) > 400
    assert not titles["train"] & titles["test"] and not titles["train"] & titles["dev"]
    assert all(6 <= len(p.target) <= 40 and len(p.source) >= 50 for p in splits["test"])
