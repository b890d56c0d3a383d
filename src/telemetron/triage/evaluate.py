"""Offline evaluation of the categorizer on CSV files with columns text,category."""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import classifier
from .classifier import DEFAULT_THRESHOLD, Model, Prediction, train
from .examples import CategoryDef, Example, LabelledTicket, build_examples


def read_csv(path: str | Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"text", "category"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs a header with columns text,category")
        return [(r["text"], r["category"]) for r in reader if r["text"] and r["category"]]


def read_categories(path: str | Path) -> list[CategoryDef]:
    """JSON: a list of {"name", "description"?, "examples"?} (or of plain names), or an
    object {name: description}. The label is the name."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(raw, dict):
        raw = [{"name": k, "description": v} for k, v in raw.items()]
    out = []
    for item in raw:
        if isinstance(item, str):
            item = {"name": item}
        out.append(CategoryDef(label=item["name"], name=item["name"],
                               description=item.get("description", ""),
                               examples=tuple(item.get("examples", ()))))
    return out


def sample_shots(rows: Sequence[tuple[str, str]], shots: int | None, seed: int = 0):
    """Up to `shots` rows per category (all rows when shots is None), seeded."""
    if shots is None:
        return list(rows)
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    out = []
    for label in sorted(by_label):
        group = by_label[label]
        rng = random.Random(f"{seed}:{label}")
        out.extend(rng.sample(group, min(shots, len(group))))
    return out


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str | None]) -> float:
    labels = sorted(set(y_true))
    f1s = []
    for lab in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == lab and p == lab)
        fp = sum(1 for t, p in zip(y_true, y_pred) if t != lab and p == lab)
        fn = sum(1 for t, p in zip(y_true, y_pred) if t == lab and p != lab)
        denom = 2 * tp + fp + fn
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate(train_rows, test_rows, *, shots: int | None = None, threshold: float | None = None,
             engine: str = "auto", categories: Sequence[CategoryDef] | None = None,
             seed: int = 0, latency_samples: int = 300, batch_size: int = 256,
             save_model: str | Path | None = None) -> dict:
    """Train on train_rows (or `shots` per category of them, plus category definitions when
    given), then measure on test_rows. Returns a dict of metrics, in the order the report
    (bench/, ``triage evaluate``) prints them."""
    thr = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    engine_used = classifier.engine_name(engine)
    result: dict = {"engine": engine_used, "threshold": thr, "shots": shots}
    if engine_used == classifier.ENGINE_HYBRID:
        result.update(_encoder_load())
    examples = _training_examples(train_rows, shots, seed, categories)
    result["train_examples"] = len(examples)
    result["categories"] = len({e.label for e in examples})
    model, training = _train_and_reload(examples, engine, thr, save_model)
    result.update(training)
    texts = [t for t, _ in test_rows]
    truth = [c for _, c in test_rows]
    preds, throughput = _predict_in_batches(model, texts, engine_used, batch_size)
    result.update(throughput)
    result.update(_accuracy(preds, truth))
    unknown = sorted(set(truth) - set(model.labels))
    if unknown:
        result["test_categories_not_in_training"] = unknown
    result.update(_latency(model, texts[: max(0, latency_samples)], engine_used))
    result["rss_mb"] = round(rss_mb(), 1)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS")
    return result


def _encoder_load() -> dict:
    from . import embedder as _emb
    t0 = time.perf_counter()
    emb = _emb.get_embedder()
    return {"embedder_load_s": round(time.perf_counter() - t0, 3),
            "embedder_threads": emb.session.get_session_options().intra_op_num_threads}


def _training_examples(train_rows, shots: int | None, seed: int,
                       categories: Sequence[CategoryDef] | None) -> list[Example]:
    chosen = sample_shots(train_rows, shots, seed) if shots else ([] if shots == 0 else
                                                                  list(train_rows))
    if categories:
        examples = build_examples(categories, [LabelledTicket(t, c) for t, c in chosen])
    else:
        examples = [Example(t, c) for t, c in chosen]
    if not examples:
        raise ValueError("no training examples (give --categories with --shots 0)")
    return examples


def _train_and_reload(examples: list[Example], engine: str, thr: float,
                      save_model: str | Path | None) -> tuple[Model, dict]:
    """The model trained, stored and loaded back (as the service does), and what that took."""
    t0 = time.perf_counter()
    model = train(examples, engine=engine, threshold=thr)
    metrics: dict = {"train_s": round(time.perf_counter() - t0, 2)}
    metrics["calibration"] = {"alpha": round(model.alpha, 3),
                              "temperature": round(model.temperature, 3),
                              "novelty_gate": model.novelty_gate,
                              "how": model.meta.get("calibration")}
    blob = model.to_bytes()
    if save_model:
        Path(save_model).write_bytes(blob)
    t0 = time.perf_counter()
    model = Model.from_bytes(blob)
    metrics["model_load_s"] = round(time.perf_counter() - t0, 4)
    metrics["model_bytes"] = len(blob)
    return model, metrics


def _predict_in_batches(model: Model, texts: list[str], engine: str,
                        batch_size: int) -> tuple[list[Prediction], dict]:
    t0 = time.perf_counter()
    preds: list[Prediction] = []
    for s in range(0, len(texts), batch_size):
        preds.extend(model.predict(texts[s:s + batch_size], engine=engine))
    batch_s = time.perf_counter() - t0
    return preds, {"test_tickets": len(texts),
                   "batch_tickets_per_s": round(len(texts) / batch_s, 1) if batch_s > 0 else None}


def _share_right(pairs: Sequence[tuple[str | None, str]]) -> float | None:
    return round(sum(a == b for a, b in pairs) / len(pairs), 4) if pairs else None


def _accuracy(preds: list[Prediction], truth: list[str]) -> dict:
    best = [p.best for p in preds]
    n = len(truth)
    covered = [(p.label, t) for p, t in zip(preds, truth) if p.label is not None]
    curve = []
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        ans = [(p.best, y) for p, y in zip(preds, truth) if p.confidence >= t]
        curve.append({"threshold": t, "coverage": round(len(ans) / n, 4),
                      "accuracy_covered": _share_right(ans)})
    return {
        "accuracy": round(sum(b == t for b, t in zip(best, truth)) / n, 4),
        "macro_f1": round(macro_f1(truth, best), 4),
        "top3_accuracy": round(sum(t in [lab for lab, _ in p.top] for p, t in zip(preds, truth)) / n, 4),
        "coverage": round(len(covered) / n, 4),
        "accuracy_covered": _share_right(covered),
        "threshold_curve": curve,
    }


def _latency(model: Model, sample: list[str], engine: str) -> dict:
    """One ticket per call, as at ticket creation; after five calls to warm up."""
    for t in sample[:5]:
        model.predict([t], engine=engine)
    lat = []
    for t in sample:
        t0 = time.perf_counter()
        model.predict([t], engine=engine)
        lat.append(time.perf_counter() - t0)
    if not lat:
        return {}
    return {"latency_ms_p50": round(float(np.percentile(lat, 50)) * 1000, 2),
            "latency_ms_p99": round(float(np.percentile(lat, 99)) * 1000, 2)}


def format_report(r: dict) -> str:
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.2f}%"

    lines = [
        f"engine            {r['engine']}",
        f"training          {r['train_examples']} examples, {r['categories']} categories"
        + (f" ({r['shots']} per category)" if r.get("shots") is not None else "")
        + f", {r['train_s']} s",
        f"test tickets      {r['test_tickets']}",
        f"accuracy          {pct(r['accuracy'])}",
        f"macro-F1          {pct(r['macro_f1'])}",
        f"top-3 accuracy    {pct(r['top3_accuracy'])}",
        f"threshold         {r['threshold']}",
        f"coverage          {pct(r['coverage'])}  (answered, confidence >= threshold)",
        f"accuracy answered {pct(r['accuracy_covered'])}",
        f"latency/ticket    p50 {r.get('latency_ms_p50')} ms, p99 {r.get('latency_ms_p99')} ms"
        " (one ticket per call)",
        f"batch throughput  {r['batch_tickets_per_s']} tickets/s (one process)",
        f"model load        {r['model_load_s']} s (trained model, {r['model_bytes']} bytes)"
        + (f"; encoder {r['embedder_load_s']} s" if "embedder_load_s" in r else ""),
        f"memory            RSS {r['rss_mb']} MB now, peak {r['peak_rss_mb']} MB",
        "coverage/accuracy " + ", ".join(
            f"{c['threshold']}: {pct(c['coverage'])}/{pct(c['accuracy_covered'])}"
            for c in r.get("threshold_curve", [])),
    ]
    if r.get("test_categories_not_in_training"):
        lines.append(f"warning           test categories never trained on: "
                     f"{', '.join(r['test_categories_not_in_training'])}")
    return "\n".join(lines)
