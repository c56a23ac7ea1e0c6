"""Extractive baselines: sentence splitting, lead-N, TextRank picks the central sentence."""
from roots_zh.generation.extractive import lead, split_sentences, textrank


def test_split_and_lead():
    assert split_sentences("今天下雨。明天呢？ 后天晴！end") == ["今天下雨。", "明天呢？", "后天晴！", "end"]
    assert split_sentences("  ") == [] and lead("一二三四五", 3) == "一二三"


def test_textrank_prefers_the_sentence_that_shares_most():
    text = ("北京市政府今天发布新的地铁建设规划。规划提出北京地铁线路将在五年内延长。"
            "地铁规划还包括北京新的换乘站。一只猫在睡觉。")
    best = textrank(text, 1)
    assert len(best) == 1 and "猫" not in best[0] and "地铁" in best[0]
    two = textrank(text, 2)
    assert [text.index(s) for s in two] == sorted(text.index(s) for s in two)  # kept in text order
    assert textrank("只有一句", 1) == ["只有一句"] and textrank("", 1) == []
