"""BERT uncased WordPiece tokenizer in pure Python (no `tokenizers`, no network).

all-MiniLM-L6-v2 uses the bert-base-uncased vocabulary and normalisation. The vocabulary
(`data/minilm-vocab.txt`, 30,522 entries) ships inside this package and its SHA-256 is
checked when it is loaded. The `tokenizers` wheel would pull `huggingface_hub` and its
HTTP stack into the install; this module reproduces its `BertNormalizer` +
`BertPreTokenizer` + `WordPiece` pipeline for this vocabulary (the tests compare it
with golden ids produced by `tokenizers` 0.23.3 from the model's own `tokenizer.json`).
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache
from pathlib import Path

VOCAB_PATH = Path(__file__).parent / "data" / "minilm-vocab.txt"
#: sha256 of bert-base-uncased's vocab.txt, which all-MiniLM-L6-v2 uses.
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"

CLS_ID = 101
SEP_ID = 102
PAD_ID = 0
UNK_TOKEN = "[UNK]"
MAX_INPUT_CHARS_PER_WORD = 100


class IntegrityError(RuntimeError):
    """A packaged model or vocabulary file does not match its pinned SHA-256."""


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_whitespace(ch: str) -> bool:
    if ch in " \t\n\r":
        return True
    return unicodedata.category(ch) == "Zs"


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def normalize(text: str) -> str:
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase)."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.lower()


def pre_tokenize(text: str) -> list[str]:
    """BertPreTokenizer: split on whitespace, and each punctuation mark on its own."""
    words: list[str] = []
    for chunk in text.split():
        start = 0
        for i, ch in enumerate(chunk):
            if _is_punctuation(ch):
                if i > start:
                    words.append(chunk[start:i])
                words.append(ch)
                start = i + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


class WordPieceTokenizer:
    def __init__(self, vocab_path: Path = VOCAB_PATH, sha256: str | None = VOCAB_SHA256):
        raw = Path(vocab_path).read_bytes()
        if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
            raise IntegrityError(f"{vocab_path} does not match its pinned sha256 {sha256}")
        tokens = raw.decode("utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        self.vocab: dict[str, int] = {t: i for i, t in enumerate(tokens)}
        self.unk_id = self.vocab[UNK_TOKEN]
        # Memo of word -> ids: support tickets reuse a small vocabulary of words.
        self._word_ids = lru_cache(maxsize=65536)(self._word_ids_uncached)

    def _word_ids_uncached(self, word: str) -> tuple[int, ...]:
        if len(word) > MAX_INPUT_CHARS_PER_WORD:
            return (self.unk_id,)
        vocab = self.vocab
        ids: list[int] = []
        start = 0
        n = len(word)
        while start < n:
            end = n
            found = None
            while start < end:
                piece = word[start:end]
                if start > 0:
                    piece = "##" + piece
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unk_id,)
            ids.append(found)
            start = end
        return tuple(ids)

    def encode(self, text: str, max_length: int = 256) -> list[int]:
        """[CLS] wordpieces [SEP], truncated to max_length ids in all."""
        ids = [CLS_ID]
        limit = max_length - 1
        for word in pre_tokenize(normalize(text)):
            ids.extend(self._word_ids(word))
            if len(ids) >= limit:
                del ids[limit:]
                break
        ids.append(SEP_ID)
        return ids
