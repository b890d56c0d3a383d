"""The categorizer on small data: the lexical engine always, the embedding engine when
installed."""

from __future__ import annotations

import numpy as np
import pytest

from telemetron.triage import ENGINE_HYBRID, ENGINE_LEXICAL, Example, Model, train
from tests.support.triage import TEST, needs_embedding, train_examples

ENGINES = [
    pytest.param("lexical", id="lexical"),
    pytest.param("embedding+lexical", id="embedding", marks=needs_embedding),
]


@pytest.fixture(scope="module", params=ENGINES)
def model(request):
    return train(train_examples(), engine=request.param)


def test_predicts_the_right_categories(model):
    preds = model.predict([t for t, _ in TEST], threshold=0.0)
    best = [p.best for p in preds]
    assert sum(b == truth for b, (_, truth) in zip(best, TEST)) >= 4, best


def test_top3_is_sorted_and_explains(model):
    [p] = model.predict(["my battery dies after a night"])
    assert len(p.top) == 3
    scores = [s for _, s in p.top]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 < sum(scores) <= 1.0 + 1e-6
    assert p.confidence == pytest.approx(scores[0])
    assert {lab for lab, _ in p.top} == {"battery", "connectivity", "billing"}
    d = p.to_dict()
    assert d["top"][0]["label"] == p.best and "confidence" in d and "engine" in d


def test_none_when_unsure(model):
    [sure] = model.predict(["the battery drains overnight and will not charge"], threshold=0.0)
    assert sure.label == "battery"
    [p] = model.predict(["the battery drains overnight and will not charge"],
                        threshold=sure.confidence + 1e-9)
    assert p.label is None and p.best == "battery"  # best candidate still shown
    # Text unlike any category: the scores are flat, so the default threshold says none.
    [q] = model.predict(["zxqv plorm"])
    assert q.label is None
    assert q.confidence < model.threshold


def test_threshold_is_part_of_the_model(model):
    m = Model.from_bytes(model.to_bytes())
    m.threshold = 0.0
    assert all(p.label is not None for p in m.predict(["hello there"]))


def test_allowed_restricts_the_choice(model):
    [p] = model.predict(["my battery dies after a night"], allowed={"billing", "connectivity"},
                        threshold=0.0)
    assert p.best in {"billing", "connectivity"}
    assert {lab for lab, _ in p.top} <= {"billing", "connectivity"}
    assert sum(s for _, s in p.top) == pytest.approx(1.0, abs=1e-5)


@needs_embedding
def test_choosing_among_the_open_categories_keeps_an_off_topic_ticket_unsure():
    """The server always passes the categories open to the AI (``allowed``). Renormalizing among
    them once undid the "far from every example" damping, so in the server an off-topic ticket
    was as confident as without it (an audit: an off-topic question auto-resolved)."""
    model = train(train_examples(), engine="embedding+lexical")
    assert model.novelty_gate
    texts = ["What time does your office open on Saturdays?", "my battery dies after a night"]
    alone = model.predict(texts, threshold=0.0)
    everything = model.predict(texts, threshold=0.0, allowed=set(model.labels))
    assert [p.confidence for p in everything] == pytest.approx([p.confidence for p in alone])
    off_topic, on_topic = everything
    assert off_topic.confidence < 0.2  # 0.79 when the choice undid the damping
    assert on_topic.best == "battery" and on_topic.confidence > 0.9


@needs_embedding
def test_a_model_stored_with_a_lower_gate_damps_as_a_new_one_would():
    from telemetron.triage.classifier import MIN_NOVELTY_GATE

    model = train(train_examples(), engine="embedding+lexical")
    model.novelty_gate = 0.2  # as an older stored model was calibrated
    assert Model.from_bytes(model.to_bytes()).novelty_gate == MIN_NOVELTY_GATE


def _model_that_scores_by_dimension(exemplar_labels, exemplars=None):
    """Three categories whose scores come from the embedding alone: dimensions 0 and 1 both point
    to "billing", dimension 2 to "connectivity"; each category's examples lie along a dimension
    of their own (0: "battery", 1: "billing", 2: "connectivity"), stored out of order."""
    from telemetron.triage.lexical import LexicalVectorizer

    labels = ["battery", "billing", "connectivity"]
    lexical = LexicalVectorizer.fit(["battery", "billing", "connectivity"])
    n_features = lexical.transform(["x"]).n_cols
    W_emb = np.zeros((3, 3), np.float32)
    W_emb[0, 1] = W_emb[1, 1] = W_emb[2, 2] = 8.0
    if exemplars is None:
        e = np.eye(3, dtype=np.float16)
        exemplars = np.stack([e[2], e[1], e[0], e[1], e[2], e[0]])  # labels 2, 1, 0, 1, 2, 0
    return Model(labels, lexical, np.zeros((n_features, 3), np.float32), np.zeros(3, np.float32),
                 W_emb, np.zeros(3, np.float32), alpha=1.0, temperature=1.0,
                 exemplars=exemplars, exemplar_labels=exemplar_labels, novelty_gate=0.35)


NEAR_BATTERY = np.array([1.0, 0.1, 0.0], np.float32) / np.float32(np.sqrt(1.01))
NEAR_BILLING = np.array([0.0, 1.0, 0.0], np.float32)


def test_a_ticket_near_one_category_but_scored_as_another_is_unsure():
    """The damping reads the best candidate's own examples: a ticket as close as can be to a
    battery example, but scored billing, is far from everything billing was taught."""
    model = _model_that_scores_by_dimension(np.array([2, 1, 0, 1, 2, 0], np.int32))
    for m in (model, Model.from_bytes(model.to_bytes())):
        off, on = m.predict(["x", "y"], embeddings=np.stack([NEAR_BATTERY, NEAR_BILLING]),
                            engine=ENGINE_HYBRID, threshold=0.5)
        assert on.label == "billing" and on.confidence > 0.99
        assert off.best == "billing" and off.label is None and off.confidence < 0.01
        # Among the categories open to the AI, the best one is what the damping reads.
        mostly_billing = np.array([0.05, 1.0, 0.05], np.float32) / np.float32(np.sqrt(1.005))
        [p] = m.predict(["z"], embeddings=mostly_billing[None], engine=ENGINE_HYBRID,
                        allowed={"battery", "connectivity"}, threshold=0.0)
        assert p.best == "connectivity" and 0 < p.confidence < 0.01


def test_a_category_without_a_kept_example_is_read_against_the_nearest_of_any():
    e = np.eye(3, dtype=np.float16)
    model = _model_that_scores_by_dimension(np.array([0, 0, 2], np.int32), np.stack([e[0], e[1], e[2]]))
    [p] = model.predict(["y"], embeddings=NEAR_BILLING[None], engine=ENGINE_HYBRID)
    assert p.label == "billing" and p.confidence > 0.99


def test_a_model_stored_before_examples_kept_their_category_damps_by_the_nearest_of_any():
    model = _model_that_scores_by_dimension(None)
    [p] = model.predict(["x"], embeddings=NEAR_BATTERY[None], engine=ENGINE_HYBRID)
    assert p.label == "billing" and p.confidence > 0.99


def test_a_large_model_keeps_examples_of_every_category():
    from telemetron.triage.classifier import _exemplar_rows

    y = np.array([0] * 5000 + [1] * 3 + [2] * 40)
    kept = y[_exemplar_rows(y, limit=100)]
    assert len(kept) == 100 and set(np.unique(kept)) == {0, 1, 2}
    assert (kept == 1).sum() == 3 and (kept == 2).sum() == 40


def test_save_load_roundtrip(model, tmp_path):
    path = tmp_path / "org.model"
    model.save(path)
    loaded = Model.load(path)
    texts = [t for t, _ in TEST] + ["something else entirely"]
    a, _ = model.scores(texts)
    b, _ = loaded.scores(texts)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert loaded.labels == model.labels
    assert loaded.threshold == model.threshold
    assert loaded.trained_engine == model.trained_engine
    assert [p.to_dict() for p in loaded.predict(texts)] == [p.to_dict() for p in model.predict(texts)]


def test_load_refuses_other_files(tmp_path):
    with pytest.raises(ValueError):
        Model.from_bytes(b"not a model")
    buf = tmp_path / "x.npz"
    np.savez(buf, meta=np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
    with pytest.raises(ValueError):
        Model.load(buf)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_correction_counts_more(engine):
    base = train_examples()
    text = "the device restarts when the charger is plugged in and the wifi drops"
    # The same ticket labelled twice: once plainly as connectivity, once corrected by an
    # agent to battery (weight 3). The correction wins; with equal weights it would not.
    weighted = base + [Example(text, "connectivity", 1.0), Example(text, "battery", 3.0)]
    reverse = base + [Example(text, "connectivity", 3.0), Example(text, "battery", 1.0)]
    m1 = train(weighted, engine=engine)
    m2 = train(reverse, engine=engine)
    assert m1.predict([text], threshold=0.0)[0].best == "battery"
    assert m2.predict([text], threshold=0.0)[0].best == "connectivity"


def test_organizations_do_not_share_anything():
    a = train([Example("printer jams", "printer"), Example("screen flickers", "display")],
              engine="lexical")
    b = train([Example("late delivery", "shipping"), Example("refund please", "refund")],
              engine="lexical")
    assert a.labels == ["display", "printer"] and b.labels == ["refund", "shipping"]
    assert {lab for lab, _ in a.predict(["late delivery"])[0].top} <= {"display", "printer"}


def test_single_category_and_no_category():
    m = train([Example("printer jams", "printer"), Example("paper stuck in the printer", "printer")],
              engine="lexical")
    [near, far] = m.predict(["the printer jams", "qwerty zxcv"])
    assert near.best == "printer" and near.confidence > far.confidence
    assert far.label is None
    empty = train([], engine="lexical")
    [p] = empty.predict(["anything"])
    assert p.label is None and p.top == []
    assert Model.from_bytes(empty.to_bytes()).labels == []


def test_lexical_engine_reported():
    m = train(train_examples(), engine="lexical")
    assert m.trained_engine == ENGINE_LEXICAL
    assert m.predict(["x"])[0].engine == ENGINE_LEXICAL


@needs_embedding
def test_hybrid_engine_reported(hybrid_model):
    assert hybrid_model.trained_engine == ENGINE_HYBRID
    assert hybrid_model.predict(["x"])[0].engine == ENGINE_HYBRID


@needs_embedding
def test_hybrid_model_degrades_to_lexical(hybrid_model, monkeypatch):
    """A model trained with embeddings still answers when they are switched off."""
    monkeypatch.setenv("TELEMETRON_TRIAGE_ENGINE", "lexical")
    [p] = hybrid_model.predict(["my battery dies after a night"], threshold=0.0)
    assert p.engine == ENGINE_LEXICAL and p.best == "battery"


@needs_embedding
def test_model_from_another_embedding_file_uses_lexical_part(hybrid_model, monkeypatch):
    from telemetron.triage import embedder

    blob = hybrid_model.to_bytes()
    monkeypatch.setattr(embedder, "MODEL_SHA256", "0" * 64)
    m = Model.from_bytes(blob)
    assert m.trained_engine == ENGINE_LEXICAL
    assert m.predict(["my battery dies after a night"], threshold=0.0)[0].best == "battery"
