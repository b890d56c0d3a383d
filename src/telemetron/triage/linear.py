"""Weighted multinomial logistic regression in numpy (no scipy, no scikit-learn).

Features are either a dense float32 matrix or a :class:`CSR` sparse matrix (numpy arrays
only). Training minimises ``sum_i w_i * CE_i / sum(w) + ||W||^2 / (2 * C * sum(w))`` (the
same objective as scikit-learn's ``LogisticRegression(C=C)`` up to a constant factor, the
intercept unpenalised) with L-BFGS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK = 4_000_000  # gathered elements per block (nnz * classes), bounds peak memory


@dataclass
class CSR:
    """A sparse row matrix: row i has columns indices[indptr[i]:indptr[i+1]]."""

    indptr: np.ndarray  # int64, n+1
    indices: np.ndarray  # int32
    data: np.ndarray  # float32
    n_cols: int

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.indptr))



def _segment_sum(values: np.ndarray, segment_ids: np.ndarray, n_segments: int) -> np.ndarray:
    """Sum rows of `values` (m, k) into n_segments buckets, ids sorted ascending."""
    out = np.zeros((n_segments, values.shape[1]), dtype=values.dtype)
    if len(segment_ids) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, segment_ids[1:] != segment_ids[:-1]])
    out[segment_ids[starts]] = np.add.reduceat(values, starts, axis=0)
    return out


class _SparseOps:
    """X @ W and X.T @ G for a CSR X, in blocks, by gathering rows of W / G."""

    def __init__(self, X: CSR):
        self.X = X
        self.rows = X.row_ids()
        self._transposed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _transpose(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._transposed is None:
            order = np.argsort(self.X.indices, kind="stable")
            self._transposed = (self.X.indices[order].astype(np.int64), self.rows[order],
                                self.X.data[order])
        return self._transposed

    def _blocks(self, n: int, k: int):
        step = max(1, _CHUNK // max(k, 1))
        for s in range(0, n, step):
            yield s, min(n, s + step)

    def matmul(self, W: np.ndarray) -> np.ndarray:
        X, k = self.X, W.shape[1]
        out = np.zeros((X.n_rows, k), dtype=np.float32)
        for s, e in self._blocks(len(X.indices), k):
            vals = W[X.indices[s:e]] * X.data[s:e, None]
            out += _segment_sum(vals, self.rows[s:e], X.n_rows)
        return out

    def rmatmul(self, G: np.ndarray) -> np.ndarray:
        k = G.shape[1]
        t_cols, t_rows, t_data = self._transpose()
        out = np.zeros((self.X.n_cols, k), dtype=np.float32)
        for s, e in self._blocks(len(t_cols), k):
            vals = G[t_rows[s:e]] * t_data[s:e, None]
            out += _segment_sum(vals, t_cols[s:e], self.X.n_cols)
        return out


class _DenseOps:
    def __init__(self, X: np.ndarray):
        self.X = np.ascontiguousarray(X, dtype=np.float32)

    def matmul(self, W: np.ndarray) -> np.ndarray:
        return self.X @ W

    def rmatmul(self, G: np.ndarray) -> np.ndarray:
        return self.X.T @ G


def decision(X, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Logits (n, k) for dense or CSR X."""
    ops = _SparseOps(X) if isinstance(X, CSR) else _DenseOps(X)
    # copy=False: W is float32 already (a copy of a large W cost milliseconds a call)
    return ops.matmul(W.astype(np.float32, copy=False)) + b.astype(np.float32, copy=False)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fit_logreg(X, y: np.ndarray, n_classes: int, sample_weight: np.ndarray | None = None, *,
               C: float = 20.0, max_iter: int = 300, tol: float = 1e-5,
               memory: int = 7) -> tuple[np.ndarray, np.ndarray, dict]:
    """Returns (W (d, k) float32, b (k,) float32, info)."""
    n = X.n_rows if isinstance(X, CSR) else X.shape[0]
    d = X.n_cols if isinstance(X, CSR) else X.shape[1]
    k = n_classes
    ops = _SparseOps(X) if isinstance(X, CSR) else _DenseOps(X)
    w = np.ones(n, dtype=np.float64) if sample_weight is None else np.asarray(sample_weight, float)
    w = (w / w.sum()).astype(np.float32)
    Y = np.zeros((n, k), dtype=np.float32)
    Y[np.arange(n), y] = 1.0
    lam = 1.0 / (C * n) if C > 0 else 0.0  # same strength per example as sklearn

    def f_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta[: d * k].reshape(d, k).astype(np.float32)
        b = theta[d * k:].astype(np.float32)
        Z = ops.matmul(W) + b
        logp = log_softmax(Z)
        loss = float(-(w[:, None] * Y * logp).sum()) + 0.5 * lam * float((W.astype(np.float64) ** 2).sum())
        G = (np.exp(logp) - Y) * w[:, None]
        gW = ops.rmatmul(G).astype(np.float64) + lam * W
        gb = G.sum(axis=0).astype(np.float64)
        return loss, np.concatenate([gW.ravel(), gb])

    theta, info = _lbfgs(f_grad, np.zeros(d * k + k), max_iter=max_iter, tol=tol, m=memory)
    W = theta[: d * k].reshape(d, k).astype(np.float32)
    b = theta[d * k:].astype(np.float32)
    return W, b, info


def _lbfgs(f_grad, x0: np.ndarray, *, max_iter: int, tol: float, m: int):
    x = x0.copy()
    f, g = f_grad(x)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007  (the count is returned after the loop)
        if np.abs(g).max() < tol:
            break
        # two-loop recursion
        q = g.copy()
        alphas = []
        for s, yv in zip(reversed(s_hist), reversed(y_hist)):
            rho = 1.0 / float(yv.astype(np.float64) @ s)
            a = rho * float(s @ q)
            alphas.append((a, rho, s, yv))
            q -= a * yv
        if y_hist:
            gamma = float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            gamma = 1.0 / max(1.0, float(np.linalg.norm(g)))
        r = gamma * q
        for a, rho, s, yv in reversed(alphas):
            bcoef = rho * float(yv @ r)
            r += s * (a - bcoef)
        direction = -r
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: reset memory
            s_hist.clear()
            y_hist.clear()
            direction = -g / max(1.0, float(np.linalg.norm(g)))
            slope = float(g @ direction)
        step = 1.0
        for _ in range(30):  # backtracking, Armijo
            x_new = x + step * direction
            f_new, g_new = f_grad(x_new)
            if f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_vec, y_vec = x_new - x, g_new - g
        if float(s_vec @ y_vec) > 1e-10:
            s_hist.append(s_vec.astype(np.float32))
            y_hist.append(y_vec.astype(np.float32))
            if len(s_hist) > m:
                s_hist.pop(0)
                y_hist.pop(0)
        converged = abs(f - f_new) <= 1e-9 * max(1.0, abs(f))
        x, f, g = x_new, f_new, g_new
        if converged:
            break
    return x, {"iterations": it, "loss": f}
