"""The pure-Python WordPiece tokenizer gives the ids `tokenizers` 0.23.3 gives with the
model's own tokenizer.json (golden ids below were produced with it)."""

import pytest

from telemetron.triage.tokenizer import IntegrityError, WordPieceTokenizer

GOLDEN = {
    "Café naïve résumé — “smart quotes” & emojis 😀 ok?":
        [101, 7668, 15743, 13746, 1517, 1523, 6047, 16614, 1524, 1004, 7861, 29147, 2483, 100,
         7929, 1029, 102],
    "iPhone's £5.00 fee!!!": [101, 18059, 1005, 1055, 27813, 1012, 4002, 7408, 999, 999, 999, 102],
    "My Pixel-7 won't charge (USB-C) after update 14.2":
        [101, 2026, 22138, 1011, 1021, 2180, 1005, 1056, 3715, 1006, 18833, 1011, 1039, 1007,
         2044, 10651, 2403, 1012, 1016, 102],
    "ÀÉÎÕÜ ß Straße 日本": [101, 29347, 3695, 2226, 1096, 2358, 27807, 1864, 1876, 102],
}


@pytest.fixture(scope="module")
def tok():
    return WordPieceTokenizer()


@pytest.mark.parametrize("text", list(GOLDEN))
def test_matches_reference_ids(tok, text):
    assert tok.encode(text) == GOLDEN[text]


def test_truncation_keeps_cls_and_sep(tok):
    ids = tok.encode("word " * 1000, max_length=16)
    assert len(ids) == 16 and ids[0] == 101 and ids[-1] == 102


def test_empty_text(tok):
    assert tok.encode("") == [101, 102]


def test_tampered_vocabulary_is_refused(tmp_path):
    from telemetron.triage.tokenizer import VOCAB_PATH

    bad = tmp_path / "vocab.txt"
    bad.write_bytes(VOCAB_PATH.read_bytes().replace(b"\nthe\n", b"\nteh\n", 1))
    with pytest.raises(IntegrityError):
        WordPieceTokenizer(bad)
