"""The packaged ONNX model: loaded offline, hash-checked. Skipped without the package."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from telemetron.triage import IntegrityError, embedder
from tests.support.triage import needs_embedding


@needs_embedding
def test_embeds_offline_and_normalised():
    e = embedder.get_embedder()
    v = e.embed(["my card has not arrived", "where is my card?", "I want a refund"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]  # paraphrases are closer


@needs_embedding
def test_batch_equals_one_by_one():
    e = embedder.get_embedder()
    texts = ["short", "a much longer ticket text about a battery that will not charge", "wifi"]
    together = e.embed(texts)
    alone = np.stack([e.embed([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)


@needs_embedding
def test_tampered_model_file_is_refused(tmp_path):
    good = embedder.default_model_path()
    bad = tmp_path / "model.onnx"
    shutil.copyfile(good, bad)
    with open(bad, "r+b") as f:
        f.seek(1_000_000)
        byte = f.read(1)
        f.seek(1_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IntegrityError):
        embedder.Embedder(bad)
    short = tmp_path / "short.onnx"
    short.write_bytes(good.read_bytes()[:-1])
    with pytest.raises(IntegrityError):
        embedder.Embedder(short)


@needs_embedding
def test_env_override_is_checked_too(tmp_path, monkeypatch):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    monkeypatch.setenv(embedder.ENV_MODEL_PATH, str(bad))
    assert embedder.default_model_path() == bad
    with pytest.raises(IntegrityError):
        embedder.Embedder()


def test_import_needs_no_embedding_package():
    """Importing and training the lexical engine never imports onnxruntime."""
    code = (
        "import sys\n"
        "from telemetron.triage import train, Example, engine_description\n"
        "m = train([Example('a b c', 'x'), Example('d e f', 'y')], engine='lexical')\n"
        "m.predict(['a b'])\n"
        "print(engine_description('lexical'))\n"
        "assert 'onnxruntime' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "lexical only" in out.stdout


def test_engine_without_embedding_package(monkeypatch):
    from telemetron.triage import classifier

    monkeypatch.setattr(embedder, "available", lambda: False)
    assert classifier.engine_name() == classifier.ENGINE_LEXICAL
    assert "lexical only" in classifier.engine_description()
    with pytest.raises(RuntimeError):
        classifier.engine_name("embedding+lexical")


@needs_embedding
def test_int8_products_stay_close_to_float32(monkeypatch):
    """The encoder's matrix products run in int8 (triage/onnx_int8.py), and its vectors stay
    where the float32 graph puts them."""
    fast = embedder.get_embedder()
    assert fast.int8_matmuls == 36  # every weight matrix of the six layers
    monkeypatch.setenv(embedder.ENV_INT8_MATMUL, "false")
    slow = embedder.Embedder()
    assert slow.int8_matmuls == 0
    texts = ["my card has not arrived", "The battery is empty after two hours",
             "I got charged twice on this month's invoice " * 5]
    assert np.min(np.sum(fast.embed(texts) * slow.embed(texts), axis=1)) > 0.99


def test_a_graph_without_the_pattern_is_left_alone():
    from telemetron.triage.onnx_int8 import int8_matmuls

    assert int8_matmuls(b"") == (b"", 0)
    assert int8_matmuls(bytes([0x0A, 0x03]) + b"abc") == (bytes([0x0A, 0x03]) + b"abc", 0)


@needs_embedding
def test_long_tickets_are_cut_at_128_word_pieces():
    e = embedder.get_embedder()
    long = "my card was blocked at the shop " * 100
    np.testing.assert_allclose(e.embed([long]), e.embed([long + " and then the app crashed"]), atol=1e-6)
