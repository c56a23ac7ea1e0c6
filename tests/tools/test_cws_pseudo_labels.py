"""tools/cws_pseudo_labels.py: corpus pieces for a teacher to segment (seeded, filtered, test sets kept out)."""
import gzip

import pytest

from cws_pseudo_labels import corpus_pieces, parse_corpus


def test_corpus_pieces_are_seeded_filtered_and_bounded(tmp_path):
    path = tmp_path / "news.txt.gz"
    lines = [f"第{i}条新闻报道了经济发展。今天天气很好！abc def ghi jkl mno。短。" for i in range(50)]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    exclude = {"今天天气很好！"}
    first = list(corpus_pieces(path, 200, seed=1, min_cjk=4, exclude=exclude))
    assert first == list(corpus_pieces(path, 200, seed=1, min_cjk=4, exclude=exclude))  # seeded
    assert first != list(corpus_pieces(path, 200, seed=2, min_cjk=4, exclude=exclude))
    assert 200 <= sum(map(len, first)) < 200 + 120  # stops once the budget is reached
    assert all(p.startswith("第") and p.endswith("经济发展。") for p in first)  # excluded, Latin, short: out


def test_parse_corpus():
    assert parse_corpus("cctv_news:5000") == ("cctv_news", 5000)
    for bad in ("cctv_news", "cctv_news:lots", ":5"):
        with pytest.raises(ValueError, match="NAME:CHARS"):
            parse_corpus(bad)
