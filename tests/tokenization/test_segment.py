"""Tests of roots_zh.tokenization.segment (jieba word segmentation)."""
from __future__ import annotations

import logging

import pytest

pytest.importorskip("jieba")

from roots_zh.tokenization import segment as seg_mod  # noqa: E402
from roots_zh.tokenization.segment import Segmenter, segment, segment_with_offsets  # noqa: E402

TEXT = "我来到北京清华大学，小明硕士毕业于中国科学院计算所。"


def test_modes():
    precise = segment(TEXT)
    assert "".join(precise) == TEXT
    assert "清华大学" in precise and "北京" in precise
    search = segment(TEXT, mode="search")
    assert {"清华", "华大", "大学", "清华大学"} <= set(search)  # sub-words of long words added
    full = segment(TEXT, mode="all")
    assert {"清华", "清华大学", "华大", "大学"} <= set(full)
    assert len(full) > len(precise)
    with pytest.raises(ValueError, match="mode"):
        segment(TEXT, mode="fast")


def test_offsets_index_text():
    for mode in ("precise", "search", "all"):
        spans = segment_with_offsets(TEXT, mode=mode)
        assert spans and all(TEXT[s:e] == w for w, s, e in spans), mode
    assert [w for w, _, _ in segment_with_offsets(TEXT)] == segment(TEXT)
    starts = [s for _, s, _ in segment_with_offsets(TEXT, mode="all")]
    assert starts == sorted(starts)


def test_hmm_flag_changes_unknown_words():
    text = "他来到了网易杭研大厦"
    assert "杭研" in segment(text, hmm=True)  # HMM joins the out-of-vocabulary word
    assert "杭研" not in segment(text, hmm=False)


def test_user_dict_list_is_isolated():
    text = "区块链赋能数字人民币试点"
    base = segment(text)
    assert "区块链赋能" not in base
    custom = segment(text, user_dict=["区块链赋能", ("数字人民币", 100)])
    assert "区块链赋能" in custom and "数字人民币" in custom
    assert segment(text) == base  # the default segmenter is not changed
    import jieba

    assert "区块链赋能" not in jieba.lcut(text)  # neither is jieba's global instance
    # cached: the same words give the same instance
    assert seg_mod.get_segmenter(["区块链赋能", ("数字人民币", 100)]) is seg_mod.get_segmenter(
        ["区块链赋能", ("数字人民币", 100)])


def test_user_dict_file(tmp_path):
    path = tmp_path / "user.dict"
    path.write_text("杭研大厦 10 nz\n网易杭研 5\n", encoding="utf-8")
    words = Segmenter(path).cut("他来到了网易杭研大厦", hmm=False)
    assert "杭研大厦" in words or "网易杭研" in words
    with pytest.raises(FileNotFoundError, match="missing.dict"):
        segment("你好", user_dict=tmp_path / "missing.dict")
    with pytest.raises(TypeError, match="user_dict"):
        segment("你好", user_dict=42)
    with pytest.raises(ValueError, match=r"user_dict\[0\]"):
        segment("你好", user_dict=[""])


def test_bad_inputs():
    with pytest.raises(ValueError, match="text"):
        segment(None)
    with pytest.raises(TypeError, match="text"):
        segment(b"bytes")
    with pytest.raises(TypeError, match="text"):
        segment_with_offsets(12)
    assert segment("") == [] and segment_with_offsets("") == []
    assert segment("   \n\t") == []  # whitespace-only tokens are dropped
    assert segment("hello  world 你好") == ["hello", "world", "你好"]
    for text in ["😀表情", "臺灣繁體字", "前\udc80后", "中\x00国", "中\u200b国"]:
        words = segment(text)
        assert "".join(words) == "".join(text.split())
        assert all(text[s:e] == w for w, s, e in segment_with_offsets(text))


def test_jieba_logging_is_silenced_locally(capfd):
    root_level = logging.getLogger().level
    Segmenter().cut("初始化一个新的分词器")
    assert "Building prefix dict" not in capfd.readouterr().err
    assert logging.getLogger().level == root_level
    assert logging.getLogger("jieba").level >= logging.WARNING


def test_protect_keeps_urls_emails_mentions_and_hashtags_whole():
    from roots_zh.tokenization.segment import segment_with_offsets

    text = "快看https://example.com/a?b=1，联系me@mail.cn或@小明_01，话题#今日热点#好"
    words = segment(text, protect=True)
    for unit in ("https://example.com/a?b=1", "me@mail.cn", "@小明_01", "#今日热点#"):
        assert unit in words, (unit, words)
    spans = segment_with_offsets(text, protect=True)
    assert all(text[s:e] == w for w, s, e in spans)
    assert "".join(w for w, _, _ in spans) == text.replace(" ", "")
    assert "https://example.com/a?b=1" not in segment(text)  # off by default: jieba splits it
    assert segment(text, mode="search", protect=True).count("me@mail.cn") == 1
