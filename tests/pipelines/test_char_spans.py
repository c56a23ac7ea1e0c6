"""Exact character spans: per-character CJK tokenization, constrained Viterbi decoding, the
segmentation corpora readers and the neural (``accurate``) word segmenter."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from roots_zh.data.cws_corpora import dictionary_splitter, split_person_name, split_words, words_to_example
from roots_zh.data.ner_qa import allowed_transitions, constrained_viterbi, tag_names, tags_to_spans, viterbi_paths
from roots_zh.tokenization.normalize import Normalizer, is_traditional


@pytest.fixture(scope="module")
def char_tokenizer():
    from roots_zh.hub import resolve_model_dir
    from roots_zh.tokenization.auto import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_dir("roots-base"), tokenize_chinese_chars=True)


def test_every_cjk_char_is_its_own_token(char_tokenizer):
    text = "马云在杭州创办了阿里巴巴集团。Hello world 中国人民 2024年😀 丂"
    enc = char_tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans = {tuple(o) for o in enc["offset_mapping"] if o[1] > o[0]}
    for i, ch in enumerate(text):
        if "\u4e00" <= ch <= "\u9fff" or ch in "。😀":
            assert (i, i + 1) in spans, ch  # a unit of exactly this one character
    assert char_tokenizer.decode(enc["input_ids"]) == text


def test_piece_tokenizer_is_unchanged_by_default():
    from roots_zh.hub import resolve_model_dir
    from roots_zh.tokenization.auto import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model_dir("roots-base"))
    assert "杭州" in tok.tokenize("马云在杭州创办了阿里巴巴集团。")
    with pytest.raises(ValueError, match="tokenize_chinese_chars"):
        type(tok)(model_proto=tok._model_proto, tokenize_chinese_chars="yes")


def test_char_setting_is_saved(char_tokenizer, tmp_path):
    from roots_zh.tokenization.auto import AutoTokenizer

    char_tokenizer.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again.tokenize_chinese_chars is True
    assert again("杭州", add_special_tokens=False)["input_ids"] == char_tokenizer("杭州", add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("scheme,types", [("BIO", ["PER", "LOC"]), ("BMES", ["w"])])
def test_viterbi_paths_obey_the_scheme(scheme, types):
    tags = tag_names(types, scheme)
    rng = np.random.default_rng(0)
    pattern = r"(O|S|BM*E)*" if scheme == "BMES" else None
    for n in (1, 2, 7):
        for _ in range(50):
            path = constrained_viterbi(rng.random((n, len(tags))), tags, scheme)
            assert len(path) == n
            if pattern:
                assert re.fullmatch(pattern, "".join(t[0] for t in path))
            else:
                for prev, cur in zip(["O"] + path, path):
                    if cur.startswith("I-"):
                        assert prev[0] in "BI" and prev[2:] == cur[2:]


def test_viterbi_keeps_a_valid_argmax_path_and_repairs_an_invalid_one():
    tags = tag_names(["w"], "BMES")  # O B M E S
    eye = np.eye(len(tags))
    valid = [tags.index(t) for t in ("B-w", "E-w", "S-w")]
    assert constrained_viterbi(eye[valid] * 0.9 + 0.02, tags, "BMES") == ["B-w", "E-w", "S-w"]
    probs = np.array([[0, 0.1, 0, 0, 0.9], [0, 0, 0, 0.6, 0.4]])  # S then E: invalid; S S is best valid
    assert constrained_viterbi(probs, tags, "BMES") == ["S-w", "S-w"]
    start_ok, trans_ok, end_ok = allowed_transitions(tags, "BMES")
    assert not start_ok[tags.index("E-w")] and not end_ok[tags.index("B-w")]
    assert constrained_viterbi(np.zeros((0, len(tags))), tags, "BMES") == []


@pytest.mark.parametrize("scheme,types", [("BIO", ["PER", "LOC"]), ("BMES", ["w"])])
def test_batched_viterbi_is_the_best_path_and_matches_one_at_a_time(scheme, types):
    import itertools

    tags = tag_names(types, scheme)
    start_ok, trans_ok, end_ok = allowed_transitions(tags, scheme)
    rng = np.random.default_rng(1)
    seqs = [rng.random((n, len(tags))) for n in (4, 1, 0, 3, 4, 2)]  # unsorted, one empty
    for seq, path in zip(seqs, viterbi_paths(seqs, tags, scheme, group=2)):
        valid = [p for p in itertools.product(range(len(tags)), repeat=len(seq)) if not p or (
            start_ok[p[0]] and end_ok[p[-1]] and all(trans_ok[a, b] for a, b in zip(p, p[1:])))]
        best = max(valid, key=lambda p: np.log(seq[np.arange(len(p)), list(p)] + 1e-12).sum())
        assert tuple(path) == tuple(best) and path.dtype == np.int64
    # lockstep decoding in groups of any size (ties included) is the one-sequence decoder's
    ties = [np.round(rng.random((int(n), len(tags))), 1) for n in rng.integers(0, 30, size=40)]
    single = [constrained_viterbi(s, tags, scheme) for s in ties]
    for options in ({}, {"group": 3}, {"max_cells": 50}):
        assert [[tags[k] for k in p] for p in viterbi_paths(ties, tags, scheme, **options)] == single


def test_segmentation_corpus_helpers():
    ex = words_to_example(["改革", "开放", "好"])
    assert ex.text == "改革开放好" and tags_to_spans(["B-w", "E-w"], "BMES") == [("w", 0, 2)]
    assert ex.entities == [("w", 0, 2), ("w", 2, 4), ("w", 4, 5)]
    split = dictionary_splitter({"改革", "开放", "我们", "的"})
    assert split(["改革开放", "我们的", "水心村", "2000年"]) == ["改革", "开放", "我们", "的", "水心村", "2000年"]
    assert split_person_name("江泽民") == ["江", "泽民"] and split_person_name("欧阳修") == ["欧阳", "修"]
    assert split_person_name("克林顿") == ["克林顿"]  # not a common surname: a transliteration
    assert split_words("[中共中央/nt 政治局/n]/nt 江泽民/nr 出席/v", "/", split_names=True) == \
        ["中共中央", "政治局", "江", "泽民", "出席"]
    assert split_words("张小凡_NR 看着_VV", "_") == ["张小凡", "看着"]
    with pytest.raises(ValueError, match="word/POS"):
        split_words("nopos", "/")


def test_segmented_file_as_a_split(tmp_path):
    """``file:PATH`` reads a whitespace-segmented corpus made elsewhere (a teacher's output)."""
    from roots_zh.data.cws_corpora import load_cws_split

    corpus = tmp_path / "pseudo.txt"
    corpus.write_text("改革 开放 好\n\n我们 的\n", encoding="utf-8")
    examples, report = load_cws_split(tmp_path, f"file:{corpus}")
    assert [e.text for e in examples] == ["改革开放好", "我们的"] and report.read == 2
    assert examples[1].entities == [("w", 0, 2), ("w", 2, 3)]
    with pytest.raises(FileNotFoundError):
        load_cws_split(tmp_path, f"file:{tmp_path / 'missing.txt'}")


def test_bmes_words_from_tag_indices():
    from roots_zh.pipelines.word_segmentation import bmes_words, word_end_mask

    tags = ["O", "B-w", "M-w", "E-w", "S-w"]
    ends = word_end_mask(tuple(tags))
    offsets = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]
    path = np.array([1, 3, 4, 1, 2, 3])  # B E | S | B M E
    assert bmes_words(ends[path], offsets, list(range(6))) == [(0, 2), (2, 3), (3, 6)]
    assert bmes_words(ends[np.array([1, 2])], offsets, [0, 1], shift=10) == [(10, 12)]  # unfinished: one word
    assert bmes_words(ends[np.array([], dtype=int)], offsets, []) == []


def test_traditional_detection_and_auto_normalizer():
    assert is_traditional("馬雲在杭州創辦了阿里巴巴集團。")
    assert not is_traditional("马云在杭州创办了阿里巴巴集团。") and not is_traditional("hello")
    auto = Normalizer.from_config("auto")
    normed, index_map = auto.with_offsets("馬雲在杭州創辦了阿里巴巴集團。")
    assert normed == "马云在杭州创办了阿里巴巴集团。" and len(index_map) == len(normed)
    assert auto.with_offsets("马云在杭州") == ("马云在杭州", None)


@pytest.fixture(scope="module")
def tiny_segmenter():
    from roots_zh.pipelines.token_classification import TokenClassifier
    from roots_zh.pipelines.word_segmentation import WordSegmenter

    tagger = TokenClassifier.from_pretrained("roots-base", labels=["w"], scheme="BMES", tokenize_chinese_chars=True)
    return WordSegmenter("accurate", user_dict=["中文分词"], tagger=tagger, max_chunk_chars=8)


def test_accurate_words_tile_the_text(tiny_segmenter):
    texts = ["结巴中文分词很好用。我们 喜欢 Python3 编程！这是一个很长很长很长的句子", "", "結巴中文分詞"]
    for text, out in zip(texts, tiny_segmenter.predict(texts)):
        assert "".join(out["words"]) == re.sub(r"\s", "", text)
        assert all(text[s:e] == w for w, (s, e) in zip(out["words"], out["offsets"]))
        ends = [e for _, e in out["offsets"]]
        assert ends == sorted(ends)
    first = tiny_segmenter.predict(texts[0])
    assert "中文分词" in first["words"]  # the user dictionary wins over the (untrained) model


SENTENCES = ["共同创造美好的新世纪——二○○一年新年贺词", "（二○○○年十二月三十一日）（附图片1张）",
             "女士们，先生们，同志们，朋友们：", "他说：改革开放以来，中国经济快速发展。我們在臺灣學習中文。",
             "江泽民 主席 发表 讲话 hello world 2024年"]


@pytest.mark.skipif(not (Path(__file__).resolve().parents[2] / "pretrained" / "roots-cws").is_dir(),
                    reason="roots-cws not shipped")
def test_accurate_segmentation_backends_and_batch_padding_agree(tmp_path, monkeypatch):
    """The default runtime (Paddle Inference on an export cached under $ROOTS_HOME) segments like
    dygraph, and padding a sentence inside a batch changes nothing against running it alone."""
    from roots_zh.pipelines.word_segmentation import WordSegmenter
    from roots_zh.taskflow import Taskflow

    monkeypatch.setenv("ROOTS_HOME", str(tmp_path / "home"))
    fast = WordSegmenter.from_pretrained(mode="accurate")
    slow = WordSegmenter.from_pretrained(mode="accurate", backend="dygraph")
    assert (fast.runtime, slow.runtime) == ("inference", "dygraph")
    assert len(list((tmp_path / "home" / "inference").iterdir())) == 1
    alone = [slow.predict(text, batch_size=1)["offsets"] for text in SENTENCES]  # no padding at all
    for seg in (slow, fast):
        assert [row["offsets"] for row in seg.predict(SENTENCES, batch_size=64)] == alone
    assert [fast.predict(text, batch_size=1)["offsets"] for text in SENTENCES] == alone
    assert Taskflow("word_segmentation", mode="accurate").backend == "inference"  # reuses the export
    assert Taskflow("word_segmentation", mode="accurate", backend="dygraph").backend == "dygraph"
    assert len(list((tmp_path / "home" / "inference").iterdir())) == 1


@pytest.mark.skipif(not (Path(__file__).resolve().parents[2] / "pretrained" / "roots-cws").is_dir(),
                    reason="roots-cws not shipped")
def test_accurate_segmentation_falls_back_to_dygraph(monkeypatch, caplog):
    import logging

    from roots_zh.pipelines import base
    from roots_zh.pipelines.word_segmentation import WordSegmenter

    def broken(*_args):
        raise RuntimeError("no export here")

    monkeypatch.setattr(base, "cached_export", broken)
    with caplog.at_level(logging.WARNING):
        seg = WordSegmenter.from_pretrained(mode="accurate", threads=1)  # an inference-only option is dropped
    assert seg.runtime == "dygraph" and "no export here" in caplog.text
    assert seg.predict("结巴中文分词")["words"]
    with pytest.raises(RuntimeError, match="no export"):
        WordSegmenter.from_pretrained(mode="accurate", backend="inference")
    with pytest.raises(RuntimeError, match="no export"):  # an explicit choice never falls back
        WordSegmenter.from_pretrained(mode="accurate", backend="onnx")
    with pytest.raises(ValueError, match="backend"):
        WordSegmenter.from_pretrained(mode="accurate", backend="tensorrt")


def test_accurate_mode_needs_a_model():
    from roots_zh.pipelines.word_segmentation import WordSegmenter, sentence_chunks

    with pytest.raises(ValueError, match="accurate"):
        WordSegmenter("precise").predict("结巴中文分词", mode="accurate")
    with pytest.raises(ValueError, match="'fast' needs the neural model"):
        WordSegmenter("fast").predict("结巴中文分词")
    with pytest.raises(ValueError, match="mode"):
        WordSegmenter("turbo")
    text = "一二三。四五六七八九十！" * 3
    chunks = sentence_chunks(text, 5)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:])) and all(e - s <= 5 for s, e in chunks)


def test_standard_picks_the_criterion_of_a_multi_criteria_model(tmp_path):
    from roots_zh.pipelines.token_classification import TokenClassifier
    from roots_zh.pipelines.word_segmentation import WordSegmenter

    tagger = TokenClassifier.from_pretrained("roots-base", labels=["w"], scheme="BMES", tokenize_chinese_chars=True)
    with pytest.raises(ValueError, match="standard"):  # a model of one standard has no choice to make
        WordSegmenter.from_pretrained(str(_saved(tagger, tmp_path / "one")), mode="accurate", backend="dygraph",
                                      standard="pku")
    tagger.set_criteria(["pku", "weibo"])
    multi = _saved(tagger, tmp_path / "multi")
    seg = WordSegmenter.from_pretrained(str(multi), mode="accurate", backend="dygraph", standard="weibo")
    assert seg.tagger.criterion == "weibo"
    assert WordSegmenter.from_pretrained(str(multi), mode="accurate", backend="dygraph").tagger.criterion == "pku"
    with pytest.raises(ValueError, match="criterion"):
        WordSegmenter.from_pretrained(str(multi), mode="accurate", backend="dygraph", standard="msr")
    with pytest.raises(ValueError, match="standard"):
        WordSegmenter.from_pretrained(mode="precise", standard="pku")


def _saved(tagger, path):
    tagger.save_pretrained(path)
    return path


def test_merge_dict_joins_model_words_without_moving_boundaries():
    from roots_zh.pipelines.word_segmentation import merge_words

    words = [("改革", 0, 2), ("开放", 2, 4), ("的", 4, 5), ("中国", 5, 7)]
    assert merge_words(words, {"改革开放", "的中"}) == [("改革开放", 0, 4), ("的", 4, 5), ("中国", 5, 7)]
    assert merge_words(words, {"开放的中国"}) == [("改革", 0, 2), ("开放的中国", 2, 7)]
    assert merge_words(words, set()) == words
