"""Lexical features: TF-IDF over word 1-2-grams and character 2-5-grams (numpy only).

Words are ``\\w\\w+`` tokens of the lower-cased, accent-stripped text; character n-grams are
taken inside each word padded with a space on both sides (scikit-learn's ``char_wb``), so
typos, plurals and product codes still share features. Each block is sublinear-TF x
smooth-IDF, L2-normalised, and the two blocks are joined with weight 1/sqrt(2) each (the
row has unit norm). A constant bias column is not added here; the classifier has one.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

import numpy as np

from .linear import CSR

_WORD = re.compile(r"\w\w+")
_ALNUM = re.compile(r"\w+")

WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 5)
MAX_FEATURES = 200_000
CHAR_MAX_DF = 0.05


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def word_features(clean: str) -> list[str]:
    tokens = _WORD.findall(clean)
    feats = list(tokens)
    if WORD_NGRAMS[1] >= 2:
        feats.extend(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))
    return feats


def char_features(clean: str) -> list[str]:
    lo, hi = CHAR_NGRAMS
    feats: list[str] = []
    for word in _ALNUM.findall(clean):
        padded = f" {word} "
        length = len(padded)
        for n in range(lo, hi + 1):
            if n > length:
                break
            feats.extend(padded[i : i + n] for i in range(length - n + 1))
    return feats


class TfidfBlock:
    def __init__(self, vocab: dict[str, int], idf: np.ndarray):
        self.vocab = vocab
        self.idf = idf.astype(np.float32)

    @classmethod
    def fit(cls, docs: list[list[str]], min_df: int = 1, max_df: float = 1.0,
            max_features: int = MAX_FEATURES):
        df: Counter[str] = Counter()
        for feats in docs:
            df.update(set(feats))
        top = max_df * len(docs)
        items = [(f, c) for f, c in df.items() if min_df <= c <= top]
        if len(items) > max_features:
            items.sort(key=lambda fc: (-fc[1], fc[0]))
            items = items[:max_features]
        items.sort()
        vocab = {f: i for i, (f, _) in enumerate(items)}
        n = len(docs)
        idf = np.array([math.log((1 + n) / (1 + c)) + 1.0 for _, c in items], dtype=np.float64)
        return cls(vocab, idf)

    def transform_one(self, feats: list[str]) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(f for f in feats if f in self.vocab)
        if not counts:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        idx = np.fromiter((self.vocab[f] for f in counts), dtype=np.int32, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        val = (1.0 + np.log(tf)) * self.idf[idx]
        val /= np.linalg.norm(val)
        order = np.argsort(idx)
        return idx[order], val[order]


class LexicalVectorizer:
    """Word + char TF-IDF; ``transform`` returns a CSR with ``n_features`` columns."""

    def __init__(self, words: TfidfBlock, chars: TfidfBlock):
        self.words = words
        self.chars = chars

    @property
    def n_features(self) -> int:
        return len(self.words.vocab) + len(self.chars.vocab)

    @classmethod
    def fit(cls, texts: list[str]) -> LexicalVectorizer:
        cleaned = [_clean(t) for t in texts]
        # With many documents, character n-grams seen once are mostly noise and memory.
        # The most common character n-grams ("ing ", " th") carry little (low IDF) but make
        # most of the non-zeros, i.e. most of the training time: drop them when there are
        # enough documents to tell.
        big = len(texts) >= 1000
        words = TfidfBlock.fit([word_features(c) for c in cleaned], min_df=1)
        chars = TfidfBlock.fit([char_features(c) for c in cleaned], min_df=2 if big else 1,
                               max_df=CHAR_MAX_DF if big else 1.0)
        return cls(words, chars)

    def transform(self, texts: list[str]) -> CSR:
        offset = len(self.words.vocab)
        scale = np.float32(1.0 / math.sqrt(2.0))
        indptr = [0]
        all_idx: list[np.ndarray] = []
        all_val: list[np.ndarray] = []
        for text in texts:
            clean = _clean(text)
            wi, wv = self.words.transform_one(word_features(clean))
            ci, cv = self.chars.transform_one(char_features(clean))
            idx = np.concatenate([wi, ci + offset]).astype(np.int32)
            val = np.concatenate([wv, cv]).astype(np.float32) * scale
            all_idx.append(idx)
            all_val.append(val)
            indptr.append(indptr[-1] + len(idx))
        indices = np.concatenate(all_idx) if all_idx else np.zeros(0, np.int32)
        data = np.concatenate(all_val) if all_val else np.zeros(0, np.float32)
        return CSR(np.asarray(indptr, dtype=np.int64), indices.astype(np.int32),
                   data.astype(np.float32), self.n_features)

    # -- persistence (plain arrays, no pickle) --------------------------------
    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        out = {}
        for name, block in (("words", self.words), ("chars", self.chars)):
            terms = sorted(block.vocab, key=block.vocab.__getitem__)
            out[f"{prefix}{name}_terms"] = np.array(terms, dtype=str) if terms else \
                np.zeros(0, dtype="<U1")
            out[f"{prefix}{name}_idf"] = block.idf
        return out

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> LexicalVectorizer:
        blocks = []
        for name in ("words", "chars"):
            terms = arrays[f"{prefix}{name}_terms"].tolist()
            blocks.append(TfidfBlock({t: i for i, t in enumerate(terms)},
                                     np.asarray(arrays[f"{prefix}{name}_idf"])))
        return cls(*blocks)
