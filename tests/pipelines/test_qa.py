"""Extractive QA: official CMRC 2018 metric, SQuAD reader on real data, windows, training, bad inputs."""
import json

import pytest

paddle = pytest.importorskip("paddle")

from tests.conftest import REPO_ROOT, shared_data  # noqa: E402
from roots_zh.metrics.cmrc import cmrc_em, cmrc_em_f1, cmrc_f1, mixed_segmentation  # noqa: E402
from roots_zh.data.ner_qa import load_qa_set, read_squad  # noqa: E402
from roots_zh.modeling import RootsConfig, RootsForQuestionAnswering  # noqa: E402
from roots_zh.pipelines.question_answering import QuestionAnswerer  # noqa: E402
from roots_zh.tokenization.auto import AutoTokenizer  # noqa: E402
from roots_zh.training.trainer import pad_batch  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(REPO_ROOT / "pretrained" / "roots-base")


def tiny(tokenizer, max_length=64, doc_stride=16, seed=0, **kw):
    paddle.seed(seed)
    cfg = RootsConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64)
    return QuestionAnswerer(RootsForQuestionAnswering(cfg), tokenizer, max_length=max_length,
                            doc_stride=doc_stride, max_query_length=16, **kw)


def test_cmrc_metric_matches_official_logic():
    # official example answer (DEV_0_QUERY_0): exact, and punctuation-insensitive EM
    assert cmrc_em(["光荣和ω-force"], "光荣和ω-force") == 1.0 and cmrc_f1(["光荣和ω-force"], "光荣和ω-force") == 1.0
    assert cmrc_em(["《战国无双3》"], "战国无双3") == 1.0 and cmrc_em(["战国无双3"], "战国无双") == 0.0
    # F1 uses the longest common *substring* of the segments, not a bag of chars:
    # "北京大学" vs "北京的大学": LCS 2 -> P=2/5, R=2/4 (a bag-of-chars F1 would give 0.889)
    assert cmrc_f1(["北京大学"], "北京的大学") == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    # non-Chinese runs are word-tokenised and lower-cased: ['iphone', '6s'] vs ['iphone']
    assert mixed_segmentation("iPhone 6s，苹果") == ["iphone", "6s", "，", "苹", "果"]
    assert cmrc_f1(["iPhone 6s"], "iphone") == pytest.approx(2 / 3)
    # max over gold answers; an unanswered question scores 0
    assert cmrc_f1(["上海", "北京大学"], "北京大学") == 1.0 and cmrc_f1(["北京"], "") == 0.0
    scores = cmrc_em_f1({"a": ["北京大学"], "b": ["上海"], "c": ["广州"]}, {"a": "北京大学", "b": "上海市"})
    assert scores["em"] == pytest.approx(100 / 3) and scores["unanswered"] == 1
    assert scores["f1"] == pytest.approx(100 * (1 + 0.8) / 3)
    with pytest.raises(ValueError, match="gold"):
        cmrc_em_f1({}, {})


def test_reader_on_real_data():
    root = shared_data()
    train, rep = load_qa_set(root, "cmrc2018", "train")
    dev, rep_dev = load_qa_set(root, "cmrc2018", "dev")
    assert (rep.read, rep.skipped, rep.relocated) == (10142, 0, 21)
    assert (rep_dev.read, sum(len(e.answers) for e in dev)) == (3219, 9657)
    assert (rep_dev.unlocated, rep_dev.relocated) == (193, 7)  # 193 answer_start=-1, text not in context
    for ex in train + dev:
        for text, start in zip(ex.answers, ex.answer_starts):
            assert start == -1 or ex.context[start:start + len(text)] == text


def test_reader_skips_malformed(tmp_path):
    doc = {"data": [{"paragraphs": [{"context": "北京是中国的首都。北京很大。", "qas": [
        {"id": "q1", "question": "首都是哪里", "answers": [{"text": "北京", "answer_start": 3}]},  # wrong offset
        {"id": "q2", "question": "", "answers": [{"text": "北京", "answer_start": 0}]},
        {"id": "q3", "question": "大吗", "answers": [{"text": "很大", "answer_start": -1}]},
        {"id": "q4", "answers": []}]}, {"context": None, "qas": [{"id": "q5", "question": "?"}]}]}]}
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    examples, report = read_squad(path)
    assert [(e.id, e.answer_starts) for e in examples] == [("q1", [0]), ("q3", [11])]
    assert report.skipped == 3 and report.relocated == 2
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="SQuAD"):
        read_squad(tmp_path / "bad.json")


def _reference_answer(qa, question, context):
    """Independent single pass: [CLS] q [SEP] context [SEP], best i <= j over context tokens."""
    q = qa.tokenizer(question, add_special_tokens=False)["input_ids"][: qa.max_query_length]
    c = qa.tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
    ids = [qa.tokenizer.cls_token_id] + q + [qa.tokenizer.sep_token_id] + c["input_ids"] + [qa.tokenizer.sep_token_id]
    qa.model.eval()
    out = qa.model(paddle.to_tensor([ids]), paddle.to_tensor([[0] * (len(q) + 2) + [1] * (len(c["input_ids"]) + 1)]))
    start = out.start_logits.numpy()[0, len(q) + 2:-1]
    end = out.end_logits.numpy()[0, len(q) + 2:-1]
    offs = c["offset_mapping"]
    best = max((start[i] + end[j], i, j) for i in range(len(start)) for j in range(i, len(end))
               if offs[j][1] - offs[i][0] <= qa.max_answer_length)
    return context[offs[best[1]][0]:offs[best[2]][1]]


def test_predict_offsets_and_windows(tokenizer):
    qa = tiny(tokenizer, max_length=128, n_best=200)
    question, context = "《战国无双3》是由哪两个公司合作开发的？", "😀\x00《战国无双3》是由光荣和ω-force开发的战国无双系列的正统第三续作。"
    out = qa.predict(question, context)
    assert out["answer"] == _reference_answer(qa, question, context) != ""  # fits: same as one pass
    assert context[out["start"]:out["end"]] == out["answer"] and 0 < out["score"] <= 1
    # a long context: windows overlap and cover it; answers index the original string
    small = QuestionAnswerer(qa.model, tokenizer, max_length=40, doc_stride=8, max_query_length=16)
    long_context = context * 12
    feats, encs = small._features([question], [long_context])
    windows = encs[0]["windows"]
    assert len(feats) == len(windows) > 3 and windows[-1][1] == len(encs[0]["ids"])
    assert all(b[0] < a[1] for a, b in zip(windows, windows[1:]))
    assert all(len(f["input_ids"]) <= 40 for f in feats)
    res = small.predict([question, question], [long_context, context])
    for r, ctx in zip(res, [long_context, context]):
        assert ctx[r["start"]:r["end"]] == r["answer"] and len(r["answer"]) <= small.max_answer_length


def test_fit_lowers_loss_on_real_subset(tokenizer):
    train, _ = load_qa_set(shared_data(), "cmrc2018", "train")
    train = train[:24]
    qa = tiny(tokenizer, max_length=64, doc_stride=16)
    args = ([e.question for e in train], [e.context for e in train], [e.answers[0] for e in train],
            [e.answer_starts[0] for e in train])

    def loss():
        spans = [(s, s + len(a)) for a, s in zip(args[2], args[3])]
        feats, _ = qa._features(args[0], args[1], spans)
        qa.model.eval()
        with paddle.no_grad():
            batch = pad_batch(feats, {"input_ids": tokenizer.pad_token_id})
            return float(qa.model(**{k: paddle.to_tensor(v) for k, v in batch.items()}).loss)

    before = loss()
    qa.fit(*args, epochs=3, batch_size=32, learning_rate=5e-3, warmup_ratio=0.0)
    after = loss()
    assert after < 0.8 * before, (before, after)
    scores = qa.evaluate(args[0][:8], args[1][:8], [e.answers for e in train[:8]])
    assert set(scores) >= {"em", "f1"} and 0 <= scores["f1"] <= 100


def test_bad_inputs(tokenizer):
    qa = tiny(tokenizer)
    assert qa.predict([], []) == []
    empty = qa.predict("问题", "")
    assert (empty["answer"], empty["start"], empty["end"], empty["score"]) == ("", 0, 0, 0.0)
    for q, c in (("", "上下文"), (" ", "\t\n"), ("😀", "a\ud800b😀c"), ("\x00", "北\x00京")):
        r = qa.predict(q, c)
        assert c[r["start"]:r["end"]] == r["answer"]
    with pytest.raises(ValueError, match="questions"):
        qa.predict(None, "x")
    with pytest.raises(TypeError, match="contexts"):
        qa.predict("x", 5)
    with pytest.raises(ValueError, match="contexts"):
        qa.predict(["a", "b"], ["c"])
    with pytest.raises(TypeError, match="both"):
        qa.predict("a", ["c"])
    with pytest.raises(ValueError, match="max_length"):
        QuestionAnswerer(qa.model, tokenizer, max_length=20, max_query_length=16)
    with pytest.raises(ValueError, match="answers"):
        qa.evaluate(["a"], ["b"], [[]])
    r = qa.predict("北京在哪", "北京是首都。" * 3000)  # 18,000 chars
    assert r["answer"] and r["end"] <= 18000


@pytest.mark.slow
def test_huge_inputs(tokenizer):
    qa = tiny(tokenizer, max_length=256, doc_stride=32)
    long_context = "北京是中国的首都。" * 22223  # 200,007 chars
    r = qa.predict("首都是哪里", long_context)
    assert long_context[r["start"]:r["end"]] == r["answer"] != ""
    many = qa.predict(["首都是哪里"] * 10000, ["北京是中国的首都。"] * 10000)
    assert len(many) == 10000 and many[0] == many[-1]


def test_window_settings_travel_with_the_model(tokenizer, tmp_path):
    qa = tiny(tokenizer, max_length=80, doc_stride=24, max_answer_length=12, n_best=5)
    qa.save_pretrained(tmp_path / "qa")
    saved = json.loads((tmp_path / "qa" / "qa_config.json").read_text())
    assert saved == {"max_length": 80, "doc_stride": 24, "max_query_length": 16, "max_answer_length": 12, "n_best": 5}
    loaded = QuestionAnswerer.from_pretrained(tmp_path / "qa")
    assert (loaded.max_length, loaded.doc_stride, loaded.max_answer_length, loaded.n_best) == (80, 24, 12, 5)
    assert QuestionAnswerer.from_pretrained(tmp_path / "qa", doc_stride=8).doc_stride == 8  # caller wins
    context = "光荣和ω-force合作开发了战国无双3。" * 6
    assert loaded.predict("谁开发的？", context) == qa.predict("谁开发的？", context)
    (tmp_path / "qa" / "qa_config.json").write_text('{"max_len": 80}')
    with pytest.raises(ValueError, match="qa_config.json"):
        QuestionAnswerer.from_pretrained(tmp_path / "qa")


def test_shipped_qa_model_runs_with_its_training_windows():
    qa = QuestionAnswerer.from_pretrained("roots-cmrc2018")
    recipe = json.loads((REPO_ROOT / "tasks" / "cmrc2018" / "recipe.json").read_text())
    assert (qa.max_length, qa.doc_stride) == (recipe["max_length"], recipe["doc_stride"])


def test_joined_splits_and_negative_windows(tokenizer):
    root = shared_data()
    train, _ = load_qa_set(root, "cmrc2018", "train")
    trial, _ = load_qa_set(root, "cmrc2018", "trial")
    both, _ = load_qa_set(root, "cmrc2018", "train+trial")
    assert len(both) == len(train) + len(trial) and both[len(train)].id == trial[0].id
    with pytest.raises(ValueError, match="split"):
        load_qa_set(root, "cmrc2018", "train+nope")
    qa = QuestionAnswerer(tiny(tokenizer).model, tokenizer, max_length=48, doc_stride=8, max_query_length=16)
    sample = train[:20]
    spans = [(e.answer_starts[0], e.answer_starts[0] + len(e.answers[0])) for e in sample]
    qs, cs = [e.question for e in sample], [e.context for e in sample]
    every, _ = qa._features(qs, cs, spans)
    holding = [f for f in every if f["start_positions"] > 0]
    few, _ = qa._features(qs, cs, spans, negative_windows=0.2, seed=1)
    none, _ = qa._features(qs, cs, spans, negative_windows=0.0)
    assert len(none) == len(holding) < len(few) < len(every)  # answer windows always stay
    assert few == qa._features(qs, cs, spans, negative_windows=0.2, seed=1)[0]  # seeded
    with pytest.raises(ValueError, match="negative_windows"):
        qa.fit(qs, cs, [e.answers[0] for e in sample], negative_windows=1.5)
