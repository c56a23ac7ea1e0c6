"""Knowledge layer: graph readers, TransE + filtered ranking, the Aho-Corasick linker, BIO NER data,
and the knowledge fusion layer (exact no-op, effect, gradients, static export parity)."""
import numpy as np
import pytest

from tests.conftest import REPO_ROOT, shared_data
from roots_zh.data.ner_qa import tag_names, tags_to_spans
from roots_zh.knowledge.graph import KnowledgeGraph, Vocab, read_triples_tsv
from roots_zh.knowledge.linker import EntityLinker
from roots_zh.knowledge.ner_data import decode_tags, encode_sentence, read_bio_tsv, span_f1
from roots_zh.knowledge.resources import mention_prf, read_cndbpedia_el, strip_disambiguation
from roots_zh.knowledge.transe import (TransE, TransEArgs, filtered_ranks, ranking_metrics,
                                       split_triples)


# ------------------------------------------------------------------------------------------- graphs
def test_tsv_reader_skips_bad_lines_with_count(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("a\tr\tb\nbroken line\n\n a \tr\t b \nx\t\ty\nb\tr\tc\n", encoding="utf-8")
    triples, report = read_triples_tsv(path)
    assert triples == [("a", "r", "b"), ("b", "r", "c")]
    assert (report.read, report.skipped, report.duplicates) == (2, 2, 1)
    assert report.first_errors[0].startswith("line 2:") and "line 5:" in report.first_errors[1]
    with pytest.raises(FileNotFoundError):
        read_triples_tsv(tmp_path / "missing.tsv")


def test_knowledge_graph_neighbours_and_vocab():
    kg = KnowledgeGraph([("感冒", "symptoms", "发热"), ("感冒", "symptoms", "咳嗽"), ("肺炎", "has_complication", "感冒")])
    assert (kg.num_entities, kg.num_relations, len(kg)) == (4, 2, 3)
    assert kg.neighbors("感冒", "out") == [("symptoms", "发热"), ("symptoms", "咳嗽")]
    assert kg.neighbors("感冒", "in") == [("has_complication", "肺炎")]
    assert kg.degree("感冒") == 3 and sorted(kg.neighbor_ids(kg.entities["感冒"])) == [1, 2, 3]
    with pytest.raises(ValueError, match="direction"):
        kg.neighbors("感冒", "sideways")
    with pytest.raises(KeyError, match="not in the vocabulary"):
        kg.neighbors("不存在")
    padded = Vocab(["a"], reserve_padding=True)
    assert padded["a"] == 1 and padded.name(0) == Vocab.PAD


def test_real_graph_counts():
    kg_dir = shared_data() / "kg"
    zh, report = KnowledgeGraph.from_dbp15k(kg_dir / "dbp15k_zh_en", side=1)
    assert (zh.num_entities, zh.num_relations, len(zh), report.skipped) == (19388, 1701, 70414, 0)
    assert ("predecessor", "金泳三") in zh.neighbors("金大中", "out")
    med, report = KnowledgeGraph.from_tsv(kg_dir / "medical_kg_xywy" / "triples.tsv.gz")
    assert (med.num_entities, med.num_relations, len(med), report.skipped) == (24874, 9, 275805, 0)
    assert ("belongs_to_department", "儿科") in med.neighbors("百日咳", "out")


# ------------------------------------------------------------------------------------------- TransE
def test_split_is_seeded_and_keeps_test_entities_in_train():
    rng = np.random.default_rng(0)
    triples = np.stack([rng.integers(0, 60, 400), rng.integers(0, 3, 400), rng.integers(0, 60, 400)], 1)
    triples = np.unique(triples, axis=0)
    train, test, record = split_triples(triples, 80, seed=3)
    train2, test2, _ = split_triples(triples, 80, seed=3)
    assert np.array_equal(test, test2) and np.array_equal(train, train2)
    assert len(train) + len(test) == len(triples) and record["test"] + record["moved_to_train_unseen"] == 80
    seen = set(train[:, 0]) | set(train[:, 2])
    assert set(test[:, 0]) <= seen and set(test[:, 2]) <= seen
    with pytest.raises(ValueError, match="test_size"):
        split_triples(triples, len(triples), seed=0)


def test_filtered_ranking_hand_case():
    # 1-D embeddings: entity i sits at x = i, relation 0 translates by +1, L1 distance.
    ent = np.arange(5, dtype=np.float32)[:, None]
    rel = np.array([[1.0]], dtype=np.float32)
    # (0, r, 3): tail distances from 0+1=1: e0:1 e1:0 e2:1 e3:2 e4:3 -> raw rank of e3 is 4 (pessimistic)
    # with the known triple (0, r, 1) filtered out -> 3. Head side: from 3-1=2: e2:0 e1:1 e3:1 e0:2 e4:2
    # -> raw rank of e0 is 5 (ties count against it); filtering the known (1, r, 3) removes e1 -> 4
    test = np.array([[0, 0, 3]])
    raw = filtered_ranks(ent, rel, test, known=test, norm=1)
    filt = filtered_ranks(ent, rel, test, known=np.array([[0, 0, 3], [0, 0, 1], [1, 0, 3]]), norm=1)
    assert raw.tolist() == [[4, 5]]
    assert filt.tolist() == [[3, 4]]
    l2 = filtered_ranks(ent, rel, test, known=test, norm=2)
    assert l2.tolist() == [[4, 5]]
    m = ranking_metrics(np.array([[1, 2], [4, 20]]))
    assert m["mrr"] == pytest.approx((1 + 0.5 + 0.25 + 0.05) / 4) and m["hits@1"] == 0.25 and m["hits@10"] == 0.75


def test_transe_learns_toy_graph_and_ranks_planted_triple_first():
    # groups i: A_i -q-> D_i, B_i -p-> D_i, A_i -r-> B_i  (so r = q - p); hold out three A_k -r-> B_k.
    n = 30
    A, B, D = (lambda i: i), (lambda i: n + i), (lambda i: 2 * n + i)
    triples = [(A(i), 0, B(i)) for i in range(n)] + [(A(i), 1, D(i)) for i in range(n)] + \
              [(B(i), 2, D(i)) for i in range(n)]
    triples = np.array(triples)
    planted = triples[:3]
    train = triples[3:]
    model = TransE(3 * n, 3, TransEArgs(dim=16, norm=2, margin=1.0, negatives=4, batch_size=64,
                                        learning_rate=0.02, epochs=120, seed=0))
    history = model.fit(train)
    assert history[-1]["loss"] < 0.25 * history[0]["loss"]
    ranks = filtered_ranks(model.entity_vectors, model.relation_vectors, planted, triples, norm=2)
    assert ranks.tolist() == [[1, 1]] * 3, ranks  # tail and head of each held-out triple


def test_transe_rejects_bad_args():
    with pytest.raises(ValueError, match="norm"):
        TransEArgs(norm=3).validate()
    model = TransE(4, 1, TransEArgs(dim=4, epochs=1))
    with pytest.raises(ValueError, match="ids outside"):
        model.fit(np.array([[0, 0, 9]]))


# ------------------------------------------------------------------------------------------- linker
@pytest.mark.parametrize("backend", ["ahocorasick", "python"])
def test_linker_longest_match_offsets_and_overlaps(backend):
    if backend == "ahocorasick":
        pytest.importorskip("ahocorasick")
    names = {"腹痛": 1, "腹": 2, "腹痛剧烈": 3, "痛剧": 4, "iPhone": 5, "苹果公司": 6, "苹果": 7, "公司法": 8}
    linker = EntityLinker(names, min_length=1, backend=backend)
    text = "腹痛剧烈吗？IPHONE苹果公司法苹果腹"
    found = [(m.start, m.end, m.text, m.entities) for m in linker.find(text)]
    # leftmost-longest: 腹痛剧烈 beats 腹痛/痛剧; 苹果公司 beats 苹果 and blocks the overlapping 公司法
    assert found == [(0, 4, "腹痛剧烈", (3,)), (6, 12, "IPHONE", (5,)), (12, 16, "苹果公司", (6,)),
                     (17, 19, "苹果", (7,)), (19, 20, "腹", (2,))]
    assert all(text[s:e] == t for s, e, t, _ in found)
    assert EntityLinker(names, min_length=2, backend=backend).spans("腹") == []
    assert EntityLinker(names, lowercase=False, backend=backend).spans("IPHONE") == []
    assert EntityLinker([], backend=backend).find("任何文本") == []


def test_linker_input_errors():
    with pytest.raises(ValueError, match="backend"):
        EntityLinker(["a"], backend="regex")
    with pytest.raises(TypeError, match="text"):
        EntityLinker(["苹果"]).find(123)
    with pytest.raises(TypeError, match="single str"):
        EntityLinker("苹果")


def test_linker_backends_agree_on_real_names():
    pytest.importorskip("ahocorasick")
    kg = shared_data() / "kg"
    rows, report = read_cndbpedia_el(kg / "cndbpedia_el" / "test.txt")
    assert (report.read, report.skipped) == (1037, 0)
    import gzip
    with gzip.open(kg / "medical_kg_xywy" / "entities.tsv.gz", "rt", encoding="utf-8") as fh:
        names = [line.split("\t")[0] for line in fh]
    names += [m for _, ms, _ in rows[:300] for m in ms if m]  # test mentions: only to compare backends
    fast, slow = EntityLinker(names), EntityLinker(names, backend="python")
    texts = [r[0] for r in rows]
    assert [fast.spans(t) for t in texts] == [slow.spans(t) for t in texts]
    assert [m.text for m in fast.find("患儿百日咳后并发支气管肺炎")] == ["百日咳", "支气管肺炎"]
    assert len(fast) > 24000


def test_annotator_marks_entity_and_typed_begin_inside_slots():
    from roots_zh.knowledge.annotate import EntityAnnotator

    linker = EntityLinker({"百日咳": 1, "咳嗽": 2, "肺": 3}, min_length=1)
    types = {1: ["疾病"], 2: ["症状", "疾病"], 3: ["部位"]}
    type_ids = {"疾病/B": 10, "疾病/I": 11, "症状/B": 12, "症状/I": 13, "部位/B": 14, "部位/I": 15}
    slots = EntityAnnotator(linker, types, type_ids, k=3).slots("患百日咳，咳嗽肺")
    assert slots == [[0, 0, 0], [1, 10, 0], [1, 11, 0], [1, 11, 0], [0, 0, 0],
                     [2, 12, 10], [2, 13, 11], [3, 14, 0]]
    with pytest.raises(ValueError, match="k"):
        EntityAnnotator(linker, types, type_ids, k=0)


def test_mention_prf_and_suffix_stripping():
    m = mention_prf([["苹果", "iPhone", "电池"]], [["苹果", "iphone"]])
    assert (m["correct"], m["precision"], m["recall"]) == (2, 2 / 3, 1.0)
    assert strip_disambiguation("李娜（中国女子网球名将）") == "李娜"
    assert strip_disambiguation("民族陣線_(法國)") == "民族陣線"


# ------------------------------------------------------------------------------------------- NER data
def test_bio_spans_and_f1():
    tags = ["B-Symptom", "I-Symptom", "O", "I-Disease", "B-Cure", "B-Cure", "I-Cure"]
    assert set(tags_to_spans(tags)) == {("Symptom", 0, 2), ("Disease", 3, 4), ("Cure", 4, 5), ("Cure", 5, 7)}
    f = span_f1([["B-X", "I-X", "O", "B-Y"]], [["B-X", "I-X", "O", "B-X"]])
    assert (f["precision"], f["recall"]) == (0.5, 0.5)


def test_bio_reader_real_counts_and_token_round_trip(tmp_path):
    rows, report = read_bio_tsv(shared_data() / "kg" / "kbert" / "medical_ner" / "dev.tsv")
    assert (report.read, report.skipped) == (939, 0)
    assert sum(tag.startswith("B-") for _, t in rows for tag in t) == 3409  # SOURCE.md's entity count
    assert sum(len(set(tags_to_spans(t))) for _, t in rows) == 3410  # + one sentence that opens with I-BodyPart
    bad = tmp_path / "bad.tsv"
    bad.write_text("text_a\tlabel\n腹 痛\tB-Symptom\n腹 痛\tB-Symptom I-Symptom\n", encoding="utf-8")
    assert read_bio_tsv(bad)[1].skipped == 1
    from roots_zh.tokenization import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(REPO_ROOT / "pretrained" / "roots-base")
    labels = tag_names(["BodyPart", "Cure", "Disease", "Examine", "Symptom"])
    label2id, id2label = {l: i for i, l in enumerate(labels)}, dict(enumerate(labels))
    gold, back = [], []
    for chars, tags in rows[:200]:
        f = encode_sentence(tok, chars, tags, label2id, max_length=256, char_entities=[[1, 0]] * len(chars))
        assert len(f["entity_ids"]) == len(f["input_ids"]) and f["entity_ids"][0] == [0, 0]
        back.append(decode_tags([max(x, 0) for x in f["labels"]], f, id2label, len(chars)))
        gold.append(tags)
    # sub-word tokens crossing an entity boundary are the only loss: the ceiling stays high
    assert span_f1(back, gold)["f1"] > 0.9


# ------------------------------------------------------------------------------------------- fusion
def _models(k_fusion=None, seed=0):
    import paddle

    from roots_zh.modeling import RootsConfig, RootsForTokenClassification

    kw = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
              num_labels=5, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    paddle.seed(seed)
    base = RootsForTokenClassification(RootsConfig(**kw))
    fused = RootsForTokenClassification(RootsConfig(**kw, knowledge_fusion=k_fusion or {"num_entities": 40,
                                                                                           "entity_dim": 16}))
    own = fused.state_dict()
    for key, value in base.state_dict().items():
        own[key].set_value(value)
    base.eval()
    fused.eval()
    return base, fused


def _inputs(batch=3, seq=12, k=4):
    import paddle

    rng = np.random.default_rng(1)
    ids = paddle.to_tensor(rng.integers(4, 120, (batch, seq)))
    ent = np.zeros((batch, seq, k), dtype=np.int64)
    ent[0, 2, :2] = [5, 7]
    ent[1, 5, 0] = 9
    ent[2, 7:10, 1] = 33
    return ids, ent


def test_fusion_is_exact_noop_without_entities():
    import paddle

    base, fused = _models()
    ids, _ = _inputs()
    ref = base(ids).logits.numpy()
    assert np.array_equal(fused(ids).logits.numpy(), ref)  # entity_ids=None skips the layer
    zeros = paddle.zeros([3, 12, 4], dtype="int64")
    assert np.array_equal(fused(ids, entity_ids=zeros).logits.numpy(), ref)


def test_fusion_changes_linked_tokens_only_and_gate_gets_gradients():
    import paddle

    base, fused = _models()
    layer = fused.roots.knowledge_fusion
    assert np.allclose(layer.gate.bias.numpy(), -2.0)  # closed-ish gate survives post_init
    layer.load_entity_vectors(np.random.default_rng(0).normal(size=(39, 16)).astype("float32"))
    assert np.all(layer.entity_embeddings.weight.numpy()[0] == 0)
    ids, ent = _inputs()
    ref = base(ids).logits.numpy()
    out = fused(ids, entity_ids=paddle.to_tensor(ent)).logits.numpy()
    changed = np.abs(out - ref).max(-1) > 1e-6
    assert np.array_equal(changed, ent.max(-1) > 0)
    fused.train()
    labels = paddle.to_tensor(np.random.default_rng(2).integers(0, 5, (3, 12)))
    fused(ids, entity_ids=paddle.to_tensor(ent), labels=labels).loss.backward()
    for param in (layer.gate.weight, layer.gate.bias, layer.query.weight, layer.entity_embeddings.weight):
        assert param.grad is not None and float(param.grad.abs().sum()) > 0


def test_fusion_input_and_config_errors(tmp_path):
    import paddle

    from roots_zh.modeling import RootsConfig, RootsForTokenClassification

    base, fused = _models()
    ids, ent = _inputs()
    with pytest.raises(ValueError, match="knowledge_fusion is None"):
        base(ids, entity_ids=paddle.to_tensor(ent))
    with pytest.raises(ValueError, match="outside"):
        fused(ids, entity_ids=paddle.to_tensor(ent + 100))
    with pytest.raises(ValueError, match=r"\[batch, seq_len, K\]"):
        fused(ids, entity_ids=paddle.to_tensor(ent[:, :5]))
    with pytest.raises(ValueError, match="num_entities"):
        RootsForTokenClassification(RootsConfig(vocab_size=50, hidden_size=32, num_attention_heads=2,
                                                knowledge_fusion={"num_entities": 0}))
    with pytest.raises(ValueError, match="knowledge_fusion"):
        RootsConfig(knowledge_fusion=[1, 2])
    fused.save_pretrained(tmp_path / "m")
    again = RootsForTokenClassification.from_pretrained(tmp_path / "m")
    assert again.config.knowledge_fusion == fused.config.knowledge_fusion
    np.testing.assert_array_equal(again(ids, entity_ids=paddle.to_tensor(ent)).logits.numpy(),
                                  fused(ids, entity_ids=paddle.to_tensor(ent)).logits.numpy())


def test_fusion_static_export_matches_dygraph(tmp_path):
    import paddle
    from paddle.static import InputSpec

    _, fused = _models()
    ids, ent = _inputs()
    mask = paddle.ones_like(ids)

    class Exported(paddle.nn.Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, entity_ids):
            return self.inner(input_ids, attention_mask=attention_mask, entity_ids=entity_ids).logits

    wrapper = Exported(fused)
    wrapper.eval()
    spec = [InputSpec([None, None], "int64", "input_ids"), InputSpec([None, None], "int64", "attention_mask"),
            InputSpec([None, None, 4], "int64", "entity_ids")]
    static = paddle.jit.to_static(wrapper, input_spec=spec, full_graph=True)
    paddle.jit.save(static, str(tmp_path / "model"))
    loaded = paddle.jit.load(str(tmp_path / "model"))
    loaded.eval()
    want = fused(ids, attention_mask=mask, entity_ids=paddle.to_tensor(ent)).logits.numpy()
    got = loaded(ids, mask, paddle.to_tensor(ent))
    got = (got[0] if isinstance(got, (list, tuple)) else got).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    # a different batch/sequence length through the same program (dynamic axes)
    got2 = loaded(ids[:2, :7], mask[:2, :7], paddle.to_tensor(ent[:2, :7]))
    got2 = (got2[0] if isinstance(got2, (list, tuple)) else got2).numpy()
    want2 = fused(ids[:2, :7], attention_mask=mask[:2, :7], entity_ids=paddle.to_tensor(ent[:2, :7])).logits.numpy()
    np.testing.assert_allclose(got2, want2, atol=1e-4)


def test_pad_batch_pads_entity_slots():
    from roots_zh.training.trainer import pad_batch

    out = pad_batch([{"input_ids": [1, 2, 3], "entity_ids": [[1, 0], [0, 0], [2, 3]]},
                     {"input_ids": [4], "entity_ids": [[5, 0]]}], {})
    assert out["entity_ids"].shape == (2, 3, 2) and out["entity_ids"][1].tolist() == [[5, 0], [0, 0], [0, 0]]
