"""The categorizer: a product of two weighted logistic regressions.

* lexical: word 1-2-gram + char 2-5-gram TF-IDF -> multinomial LR (always present);
* embedding: all-MiniLM-L6-v2 sentence vector -> multinomial LR (when the embedding
  package is installed).

Scores are ``softmax(alpha * log p_emb + (1 - alpha) * log p_lex)`` (lexical alone when
there is no embedding model). The top score is the confidence; below the threshold the
answer is ``None``. A model only knows the examples it was trained on: one model per
organisation, nothing shared but the frozen encoder.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import embedder as _emb
from .examples import Example
from .lexical import LexicalVectorizer
from .linear import decision, fit_logreg, log_softmax

log = logging.getLogger("telemetron.triage")

FORMAT = "telemetron-triage-model"
FORMAT_VERSION = 1
ENGINE_HYBRID = "embedding+lexical"
ENGINE_LEXICAL = "lexical"
#: auto (default): embedding+lexical when the embedding package is installed; lexical: never.
ENV_ENGINE = "TELEMETRON_TRIAGE_ENGINE"
DEFAULT_THRESHOLD = 0.5
DEFAULT_ALPHA = 0.6  # weight of the embedding expert (holdout-tuned on BANKING77)
DEFAULT_C_LEXICAL = 20.0
DEFAULT_C_EMBEDDING = 20.0
TOP_K = 3


# -- engine selection ----------------------------------------------------------------------
_EMBEDDER_FAILED: str | None = None
_EMB_LOCK = threading.Lock()


def _wanted_engine(engine: str | None) -> str:
    choice = (engine or os.environ.get(ENV_ENGINE) or "auto").lower()
    if choice not in ("auto", ENGINE_LEXICAL, ENGINE_HYBRID):
        raise ValueError(f"unknown triage engine {choice!r} (auto, lexical, embedding+lexical)")
    return choice


def _embedder_or_none(required: bool = False):
    """The loaded embedder, or None (not installed, or failed to load: logged once)."""
    global _EMBEDDER_FAILED
    if _EMBEDDER_FAILED is not None and not required:
        return None
    try:
        return _emb.get_embedder()
    except Exception as exc:  # missing package, tampered file, onnxruntime error
        if required:
            raise
        with _EMB_LOCK:
            if _EMBEDDER_FAILED is None:
                _EMBEDDER_FAILED = f"{type(exc).__name__}: {exc}"
                log.error("triage: embedding model unusable, lexical engine only: %s", exc)
        return None


def engine_name(engine: str | None = None) -> str:
    """The engine new models get: 'embedding+lexical' or 'lexical' (loads nothing)."""
    choice = _wanted_engine(engine)
    if choice == ENGINE_LEXICAL:
        return ENGINE_LEXICAL
    if _EMBEDDER_FAILED is None and _emb.available():
        return ENGINE_HYBRID
    if choice == ENGINE_HYBRID:
        raise RuntimeError(f"embedding engine requested but not available; install "
                           f"{_emb.MODEL_DISTRIBUTION} and onnxruntime")
    return ENGINE_LEXICAL


def engine_description(engine: str | None = None) -> str:
    """One line for the start-up log."""
    name = engine_name(engine)
    if name == ENGINE_HYBRID:
        return (f"triage engine: {ENGINE_HYBRID} ({_emb.MODEL_ID} from {_emb.MODEL_DISTRIBUTION}, "
                f"sha256 {_emb.MODEL_SHA256[:12]}... checked at load; offline)")
    why = ("disabled by " + ENV_ENGINE) if _wanted_engine(engine) == ENGINE_LEXICAL else \
        (_EMBEDDER_FAILED or f"{_emb.MODEL_DISTRIBUTION} or onnxruntime not installed")
    return f"triage engine: {ENGINE_LEXICAL} only (word+char TF-IDF; {why})"


def warm_up(engine: str | None = None) -> str:
    """Load (and hash-check) the embedding model now rather than on the first ticket.
    Returns :func:`engine_description`; never raises for a missing or bad model file."""
    if engine_name(engine) == ENGINE_HYBRID:
        _embedder_or_none()
    return engine_description(engine)


# -- results ---------------------------------------------------------------------------------
@dataclass
class Prediction:
    label: str | None  # None: not confident enough (or no category)
    confidence: float  # score of the best candidate, 0..1
    top: list[tuple[str, float]] = field(default_factory=list)  # best first, up to 3
    engine: str = ENGINE_LEXICAL
    threshold: float = DEFAULT_THRESHOLD

    @property
    def best(self) -> str | None:
        return self.top[0][0] if self.top else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["top"] = [{"label": lab, "score": round(s, 4)} for lab, s in self.top]
        d["confidence"] = round(self.confidence, 4)
        return d


# -- the model -------------------------------------------------------------------------------
class Model:
    def __init__(self, labels: list[str], lexical: LexicalVectorizer | None,
                 W_lex: np.ndarray | None, b_lex: np.ndarray | None,
                 W_emb: np.ndarray | None = None, b_emb: np.ndarray | None = None, *,
                 threshold: float = DEFAULT_THRESHOLD, alpha: float = DEFAULT_ALPHA,
                 temperature: float = 1.0, temperature_lexical: float = 1.0,
                 exemplars: np.ndarray | None = None, novelty_gate: float | None = None,
                 exemplar_labels: np.ndarray | None = None,
                 single_class_refs: dict[str, np.ndarray] | None = None,
                 meta: dict | None = None):
        self.labels = list(labels)
        self.lexical = lexical
        self.W_lex, self.b_lex = W_lex, b_lex
        self.W_emb, self.b_emb = W_emb, b_emb
        self.threshold = float(threshold)
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.temperature_lexical = float(temperature_lexical)
        self.exemplars = exemplars
        self.exemplar_labels = exemplar_labels  # index into labels, one per exemplar
        self._exemplars32: np.ndarray | None = None
        self._exemplar_labels: np.ndarray | None = None
        self.novelty_gate = novelty_gate
        self.single_class_refs = single_class_refs or {}
        self.meta = dict(meta or {})

    # engine this model is trained for / can use right now
    @property
    def trained_engine(self) -> str:
        return ENGINE_HYBRID if self.W_emb is not None else ENGINE_LEXICAL

    def active_engine(self) -> str:
        if self.W_emb is None or _wanted_engine(None) == ENGINE_LEXICAL:
            return ENGINE_LEXICAL
        return ENGINE_HYBRID if _embedder_or_none() is not None else ENGINE_LEXICAL

    def scores(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None,
               engine: str | None = None) -> tuple[np.ndarray, str]:
        """(n, k) probabilities and the engine used."""
        p, near, used = self._scores(texts, embeddings=embeddings, engine=engine)
        return self._damped(p, near), used

    def _scores(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None,
                engine: str | None = None) -> tuple[np.ndarray, np.ndarray | None, str]:
        """(n, k) probabilities among the categories; each text's cosine to the nearest training
        example of each category ((n, k); (n, 1) to the nearest of any, for a model stored before
        its examples kept their categories; None when not known); and the engine used. Kept
        apart because choosing among fewer categories renormalizes the probabilities and must not
        undo the damping of an off-topic ticket (``predict``, ``_damped``)."""
        texts = list(texts)
        k = len(self.labels)
        if k == 0 or not texts:
            return np.zeros((len(texts), k), np.float32), None, ENGINE_LEXICAL
        vectors = self._vectors(texts, embeddings, engine)
        used = ENGINE_HYBRID if vectors is not None else ENGINE_LEXICAL
        if k == 1:
            return self._single_class_scores(texts, vectors), None, used
        # Two or more categories: trained (or stored) with a lexical part.
        assert self.lexical is not None and self.W_lex is not None and self.b_lex is not None
        zl = log_softmax(decision(self.lexical.transform(texts), self.W_lex, self.b_lex))
        if vectors is None:
            return np.exp(_combine(zl, None, self.alpha, self.temperature_lexical)), None, used
        assert self.W_emb is not None and self.b_emb is not None  # vectors only with them
        ze = log_softmax(vectors @ self.W_emb + self.b_emb)
        p = np.exp(_combine(zl, ze, self.alpha, self.temperature))
        near = None
        if self.exemplars is not None and self.novelty_gate:
            exemplars, exemplar_labels = self._sorted_exemplars(self.exemplars)
            near = _nearest(vectors, exemplars, exemplar_labels, k)
        return p, near, used

    def _vectors(self, texts: list[str], embeddings: np.ndarray | None,
                 engine: str | None) -> np.ndarray | None:
        """The texts' sentence vectors when the embedding part scores them; None: lexical only."""
        if self.W_emb is None or (engine or self.active_engine()) != ENGINE_HYBRID:
            return None
        if embeddings is not None:
            return embeddings
        emb = _embedder_or_none()
        return None if emb is None else emb.embed(texts)

    def _sorted_exemplars(self, exemplars: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The exemplars as float32 (stored as float16), sorted by label; made once."""
        if self._exemplars32 is None:
            labels = self.exemplar_labels
            order = np.argsort(labels, kind="stable") if labels is not None else slice(None)
            self._exemplar_labels = labels[order] if labels is not None else None  # first:
            self._exemplars32 = exemplars[order].astype(np.float32)  # threads test this
        return self._exemplars32, self._exemplar_labels

    def _damped(self, p: np.ndarray, near: np.ndarray | None) -> np.ndarray:
        """``p`` scaled down for tickets far from what the model learnt: 1 when the best
        candidate's nearest example is as close as held-out examples were to theirs, falling fast
        below, so an unrelated text gets low scores everywhere (so: none). The best candidate's
        own examples, not any category's: a ticket near one category's example but scored as
        another is off topic for both (bench/README.md: 9% fewer off-topic answers, no right one
        lost)."""
        if near is None or not len(p) or not self.novelty_gate:  # near: only with a gate
            return p
        sim = near[np.arange(len(p)), p.argmax(axis=1)] if near.shape[1] > 1 else near[:, 0]
        return p * _in_scope(sim, self.novelty_gate)[:, None]

    def _single_class_scores(self, texts, embeddings) -> np.ndarray:
        # One category: no rival to compare with, so the score is how close the ticket is
        # to that category's own examples (cosine, 0..1).
        if embeddings is not None and "emb" in self.single_class_refs:
            sims = embeddings @ self.single_class_refs["emb"].T
        else:
            assert self.lexical is not None  # one category: trained with its lexical part
            X = self.lexical.transform(texts)
            ref = self.single_class_refs["lex"]  # dense (m, d)
            sims = decision(X, ref.T, np.zeros(ref.shape[0], np.float32))
        return np.clip(sims.max(axis=1, keepdims=True), 0.0, 1.0).astype(np.float32)

    def predict(self, texts: Sequence[str], *, threshold: float | None = None,
                allowed: Iterable[str] | None = None, embeddings: np.ndarray | None = None,
                engine: str | None = None) -> list[Prediction]:
        """One :class:`Prediction` per text (batched: pass many texts at once).

        allowed: the labels that may be chosen now (e.g. categories still active and
        AI-enabled); the others are removed and the scores renormalised.
        """
        thr = self.threshold if threshold is None else float(threshold)
        p, near, used = self._scores(texts, embeddings=embeddings, engine=engine)
        labels = self.labels
        if allowed is not None and p.shape[1] > 1:
            allowed_set = set(allowed)
            keep = np.array([lab in allowed_set for lab in labels])
            p = np.where(keep, p, 0.0)
            total = p.sum(axis=1, keepdims=True)
            p = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
        elif allowed is not None:
            allowed_set = set(allowed)
            p = p * np.array([lab in allowed_set for lab in labels], dtype=p.dtype)
        p = self._damped(p, near)  # after the renormalization: an off-topic ticket stays unsure
        out = []
        for row in p:
            order = np.argsort(-row)[:TOP_K]
            top = [(labels[i], float(row[i])) for i in order if row[i] > 0]
            conf = top[0][1] if top else 0.0
            label = top[0][0] if top and conf >= thr else None
            out.append(Prediction(label, conf, top, used, thr))
        return out

    # -- persistence -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        meta = dict(self.meta)
        meta.update(format=FORMAT, format_version=FORMAT_VERSION, labels=self.labels,
                    threshold=self.threshold, alpha=self.alpha, temperature=self.temperature,
                    temperature_lexical=self.temperature_lexical,
                    novelty_gate=self.novelty_gate, engine=self.trained_engine)
        if self.W_emb is not None:
            meta["embedding_model"] = {"id": _emb.MODEL_ID, "sha256": _emb.MODEL_SHA256}
        if self.lexical is not None:
            arrays.update(self.lexical.to_arrays("lex_"))
        for name in ("W_lex", "b_lex", "W_emb", "b_emb", "exemplars", "exemplar_labels"):
            value = getattr(self, name)
            if value is not None:
                arrays[name] = value
        for key, value in self.single_class_refs.items():
            arrays[f"single_{key}"] = value
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez_compressed(buf, allow_pickle=False, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"not a {FORMAT} v{FORMAT_VERSION} file")
        W_emb, b_emb = arrays.get("W_emb"), arrays.get("b_emb")
        exemplars, exemplar_labels = arrays.get("exemplars"), arrays.get("exemplar_labels")
        emb_meta = meta.get("embedding_model")
        refs = {k[len("single_"):]: v for k, v in arrays.items() if k.startswith("single_")}
        if W_emb is not None and (emb_meta or {}).get("sha256") != _emb.MODEL_SHA256:
            # Vectors from another model file would be scored with weights that do not fit.
            log.warning("triage model was trained with another embedding model; using its "
                        "lexical part only until it is retrained")
            W_emb = b_emb = exemplars = exemplar_labels = None
            refs.pop("emb", None)
        lexical = LexicalVectorizer.from_arrays(arrays, "lex_") if "lex_words_terms" in arrays \
            else None
        labels = meta.pop("labels")
        threshold = meta.pop("threshold")
        alpha = meta.pop("alpha")
        temps = {k: meta.pop(k) for k in ("temperature", "temperature_lexical")}
        gate = meta.pop("novelty_gate", None)
        if gate:  # an older model stored a lower gate (0.2-0.29): damp as a new one would
            gate = max(gate, MIN_NOVELTY_GATE)
        return cls(labels, lexical, arrays.get("W_lex"), arrays.get("b_lex"), W_emb, b_emb,
                   threshold=threshold, alpha=alpha, **temps, exemplars=exemplars,
                   exemplar_labels=exemplar_labels, novelty_gate=gate, single_class_refs=refs,
                   meta=meta)

    def save(self, path: str | Path) -> None:
        """Atomic write (temp file + rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_bytes(self.to_bytes())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        return cls.from_bytes(Path(path).read_bytes())


# -- training --------------------------------------------------------------------------------
#: Used when the examples cannot tell how reliable the model is (about one example per
#: category, e.g. category definitions only): fitted on BANKING77 trained on one example
#: per category (bench/triage_banking77.py --calibrate-prior), not on the test sets.
PRIOR_TEMPERATURE = 0.37
PRIOR_TEMPERATURE_LEXICAL = 0.4
CV_MAX_EXAMPLES = 3000  # above: one 80/20 split instead of k folds
_ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
# Below 0.15 a few lucky held-out examples would make every later answer look certain.
_TEMPS = np.exp(np.linspace(np.log(0.15), np.log(3.0), 31))


#: A ticket less similar than this (cosine) to every training example is damped towards none.
#: MiniLM puts unrelated sentences of one domain at 0.2-0.4; 0.35 holds back more off-topic
#: answers for few in-scope ones lost (the figures: bench/README.md, "Off-topic tickets").
PRIOR_NOVELTY_GATE = 0.35
MIN_NOVELTY_GATE = 0.35
MAX_EXEMPLARS = 3000


def _max_similarity(emb: np.ndarray, exemplars: np.ndarray) -> np.ndarray:
    ex = exemplars if exemplars.dtype == np.float32 else exemplars.astype(np.float32)
    out = np.full(len(emb), -1.0, np.float32)
    for s in range(0, len(ex), 1024):
        out = np.maximum(out, (emb @ ex[s:s + 1024].T).max(axis=1))
    return out


def _nearest(emb: np.ndarray, exemplars: np.ndarray, exemplar_labels: np.ndarray | None,
             k: int) -> np.ndarray:
    """(n, k): each text's cosine to the nearest exemplar of each label, exemplars sorted by
    label (to the nearest of any for a label without one); (n, 1) to the nearest of any when
    the exemplars have no labels."""
    if exemplar_labels is None:
        return _max_similarity(emb, exemplars)[:, None]
    present, starts = np.unique(exemplar_labels, return_index=True)
    by_label = np.maximum.reduceat(emb @ exemplars.T, starts, axis=1)
    out = np.repeat(by_label.max(axis=1, keepdims=True), k, axis=1)
    out[:, present] = by_label
    return out


def _own_nearest(emb: np.ndarray, y: np.ndarray, ref: np.ndarray, y_ref: np.ndarray) -> np.ndarray:
    """Each text's cosine to the nearest of ``ref`` of its own label (texts whose label has no
    ``ref`` are left out)."""
    out = []
    for label in np.unique(y):
        mine = ref[y_ref == label]
        if len(mine):
            out.append((emb[y == label] @ mine.T).max(axis=1))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _in_scope(s: np.ndarray, gate: float) -> np.ndarray:
    """1 at a cosine ``s`` to the nearest example of at least ``gate``; falls fast below."""
    return np.where(s >= gate, 1.0, np.clip(s / gate, 0.0, 1.0) ** 4).astype(np.float32)


def _combine(zl: np.ndarray, ze: np.ndarray | None, alpha: float, temperature: float):
    z = zl if ze is None else alpha * ze + (1.0 - alpha) * zl
    return log_softmax(z / temperature)


@dataclass
class _Parts:
    lexical: LexicalVectorizer
    W_lex: np.ndarray
    b_lex: np.ndarray
    W_emb: np.ndarray | None
    b_emb: np.ndarray | None
    info: dict


def _fit_parts(texts, y, w, emb, k, c_lexical, c_embedding, max_iter_lexical) -> _Parts:
    lexical = LexicalVectorizer.fit(texts)
    W_lex, b_lex, info_lex = fit_logreg(lexical.transform(texts), y, k, w, C=c_lexical,
                                        max_iter=max_iter_lexical)
    info = {"lexical_fit": info_lex}
    W_emb = b_emb = None
    if emb is not None:
        W_emb, b_emb, info["embedding_fit"] = fit_logreg(emb, y, k, w, C=c_embedding,
                                                         max_iter=300)
    return _Parts(lexical, W_lex, b_lex, W_emb, b_emb, info)


def _folds(y: np.ndarray, n_examples: int, seed: int = 0) -> list[np.ndarray]:
    """Validation index sets: stratified; a category with one example is never held out."""
    counts = np.bincount(y)
    if n_examples > CV_MAX_EXAMPLES:
        n_folds, keep = 5, 1  # one split: 20% held out
    else:
        n_folds = min(5, int(np.max(counts)))
        keep = n_folds
    rng = np.random.default_rng(seed)
    fold_of = np.full(len(y), -1)
    for c in np.flatnonzero(counts >= 2):
        idx = rng.permutation(np.flatnonzero(y == c))
        fold_of[idx] = np.arange(len(idx)) % n_folds
    return [np.flatnonzero(fold_of == f) for f in range(keep) if np.any(fold_of == f)]


def _prior_calibration(embedding: bool) -> dict:
    return {"alpha": DEFAULT_ALPHA, "temperature": PRIOR_TEMPERATURE,
            "temperature_lexical": PRIOR_TEMPERATURE_LEXICAL, "calibration": "prior",
            "novelty_gate": PRIOR_NOVELTY_GATE if embedding else None}


def _calibrate(texts, y, w, emb, k, fit_kw) -> dict:
    """(alpha, temperature) minimising the out-of-fold weighted log-loss."""
    folds = _folds(y, len(texts))
    n_val = sum(len(f) for f in folds)
    if n_val < max(2 * k, 10) or len(folds) < 1:
        return _prior_calibration(emb is not None)
    zl_all, ze_all, val_sets, sims = [], [], [], []
    for val in folds:
        tr = np.setdiff1d(np.arange(len(y)), val)
        parts = _fit_parts([texts[i] for i in tr], y[tr], w[tr],
                           None if emb is None else emb[tr], k, **fit_kw)
        vt = [texts[i] for i in val]
        zl_all.append(log_softmax(decision(parts.lexical.transform(vt), parts.W_lex,
                                           parts.b_lex)))
        if emb is not None:
            ze_all.append(log_softmax(emb[val] @ parts.W_emb + parts.b_emb))
            sims.append(_own_nearest(emb[val], y[val], emb[tr], y[tr]))
        val_sets.append(val)
    rows = np.concatenate(val_sets)
    zl = np.concatenate(zl_all)
    ze = np.concatenate(ze_all) if emb is not None else None
    yv, wv = y[rows], w[rows] / w[rows].sum()

    def nll(z_logp):
        return float(-(wv * z_logp[np.arange(len(yv)), yv]).sum())

    def best_temp(zl_, ze_, alpha):
        losses = [nll(_combine(zl_, ze_, alpha, t)) for t in _TEMPS]
        i = int(np.argmin(losses))
        return float(_TEMPS[i]), losses[i]

    t_lex, _ = best_temp(zl, None, 0.0)
    out = {"alpha": DEFAULT_ALPHA, "temperature": t_lex, "temperature_lexical": t_lex,
           "calibration": f"{len(folds)} fold(s), {len(rows)} held out", "novelty_gate": None}
    if ze is not None:
        # A ticket less similar to its best candidate's examples than 99% of the held-out
        # examples were to their own category's is out of scope.
        held_out = np.concatenate(sims)
        gate = 0.9 * float(np.percentile(held_out, 1)) if len(held_out) else MIN_NOVELTY_GATE
        out["novelty_gate"] = float(np.clip(gate, MIN_NOVELTY_GATE, 0.5))
        best = min(((a, *best_temp(zl, ze, a)) for a in _ALPHAS), key=lambda r: r[2])
        out["alpha"], out["temperature"] = best[0], best[1]
    return out


def train(examples: Sequence[Example], *, engine: str | None = None,
          threshold: float = DEFAULT_THRESHOLD, c_lexical: float = DEFAULT_C_LEXICAL,
          c_embedding: float = DEFAULT_C_EMBEDDING, max_iter_lexical: int = 60,
          calibrate: bool | str = True, embeddings: np.ndarray | None = None) -> Model:
    """Train one organisation's model from (text, label, weight) examples.

    engine: 'auto' (default, or $TELEMETRON_TRIAGE_ENGINE), 'lexical' or
    'embedding+lexical'. The mix of the two experts and the temperature of the scores are
    fitted on held-out folds of the examples (so a confidence means about the same with
    10 examples or 10,000); with about one example per category there is nothing to hold
    out and fixed values are used. calibrate="prior": use those fixed values anyway (one fit
    instead of six: a quick first model). embeddings: vectors of the example texts, if known.
    """
    t0 = time.perf_counter()
    examples = [e for e in examples if e.text and e.text.strip() and e.weight > 0]
    name = engine_name(engine)
    labels = sorted({e.label for e in examples})
    meta = {"n_examples": len(examples), "trained_at": time.time()}
    if not labels:
        return Model([], None, None, None, threshold=threshold, meta=meta)
    texts = [e.text for e in examples]
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.array([index[e.label] for e in examples])
    weights = np.array([e.weight for e in examples], dtype=np.float64)
    if name == ENGINE_HYBRID and embeddings is None:
        emb = _embedder_or_none(required=_wanted_engine(engine) == ENGINE_HYBRID)
        if emb is None:
            name = ENGINE_LEXICAL
        else:
            embeddings = emb.embed(texts)
    emb_arr = np.asarray(embeddings, np.float32) if name == ENGINE_HYBRID else None
    if len(labels) == 1:
        lexical = LexicalVectorizer.fit(texts)
        refs = {"lex": _dense_rows(lexical, texts)}
        if emb_arr is not None:
            refs["emb"] = emb_arr[:200]
        meta["train_seconds"] = time.perf_counter() - t0
        return Model(labels, lexical, None, None, threshold=threshold,
                     single_class_refs=refs, meta=meta)
    fit_kw = {"c_lexical": c_lexical, "c_embedding": c_embedding,
              "max_iter_lexical": max_iter_lexical}
    if calibrate == "prior":  # no held-out folds: one fit instead of six (a first, quick model)
        cal = _prior_calibration(emb_arr is not None)
    elif calibrate:
        cal = _calibrate(texts, y, weights, emb_arr, len(labels), fit_kw)
    else:
        cal = {"alpha": DEFAULT_ALPHA, "temperature": 1.0, "temperature_lexical": 1.0,
               "calibration": "off", "novelty_gate": None}
    parts = _fit_parts(texts, y, weights, emb_arr, len(labels), **fit_kw)
    exemplars = exemplar_labels = None
    if emb_arr is not None:
        keep = _exemplar_rows(y)
        exemplars = emb_arr[keep].astype(np.float16)
        exemplar_labels = y[keep].astype(np.int32)
    meta.update(parts.info)
    meta["calibration"] = cal.pop("calibration")
    meta["train_seconds"] = time.perf_counter() - t0
    return Model(labels, parts.lexical, parts.W_lex, parts.b_lex, parts.W_emb, parts.b_emb,
                 threshold=threshold, exemplars=exemplars, exemplar_labels=exemplar_labels,
                 **cal, meta=meta)


def _exemplar_rows(y: np.ndarray, limit: int = MAX_EXEMPLARS) -> np.ndarray:
    """Which examples a model keeps to tell how close a ticket is to each category: all of them
    up to ``limit``; beyond, as many of each category as fit, drawn at random (seeded), so that
    a small category keeps its examples beside big ones."""
    if len(y) <= limit:
        return np.arange(len(y))
    order = np.random.default_rng(0).permutation(len(y))
    rank = np.empty(len(y), np.int64)  # an example's rank among its category's, in that order
    for label in np.unique(y):
        rows = order[y[order] == label]
        rank[rows] = np.arange(len(rows))
    return np.sort(order[np.argsort(rank[order], kind="stable")[:limit]])


def _dense_rows(lexical: LexicalVectorizer, texts: list[str], limit: int = 200) -> np.ndarray:
    X = lexical.transform(texts[:limit])
    out = np.zeros((X.n_rows, X.n_cols), np.float32)
    out[X.row_ids(), X.indices] = X.data
    return out
