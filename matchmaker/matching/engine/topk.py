"""Exact top-k selection over sparse score products, in row blocks (bounded memory)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

__all__ = ["exact_top", "one_blas_thread", "top_k_pairs"]


def one_blas_thread() -> threadpool_limits:
    """Run the dense products of a block on one BLAS thread (a context manager).

    The engine's dense steps are small (the latent fit's few thousand rows × 50, the shared
    features of a block of rows): a second BLAS thread saves little on an idle machine, and on
    a busy one (web workers, a job worker, other processes on two cores) its threads wait
    for each other's core and the same step takes ten to fifty times longer. Results do not
    depend on the number of threads beyond the last bits of a float64 sum.
    """
    return threadpool_limits(limits=1, user_api="blas")


def exact_top(S: np.ndarray, k: int, offset: int = 0) -> list[tuple[list, list]]:
    """Top ``k`` per row of a dense block, by descending score then ascending column.

    The k-th largest score of each row comes from ``np.partition`` (values only); every entry
    at or above it is a candidate, and the few candidates are ordered with one ``lexsort``.
    """
    n_r, n_c = S.shape
    k = min(k, n_c)
    if k <= 0 or n_r == 0:
        return [([], [])] * n_r
    kth = np.partition(S, n_c - k, axis=1)[:, n_c - k]
    r, c = np.nonzero(kth[:, None] <= S)
    v = S[r, c]
    order = np.lexsort((c, -v, r))
    r, c, v = r[order], c[order], v[order]
    starts = np.searchsorted(r, np.arange(n_r))
    first = np.arange(len(r)) - starts[r] < k
    c = (c[first] + offset).tolist()
    v = v[first].tolist()
    return [(c[i : i + k], v[i : i + k]) for i in range(0, n_r * k, k)]


def top_k_pairs(
    Q: sp.csr_matrix,
    C: sp.csr_matrix,
    k: int,
    *,
    block_size: int = 2048,
    columns: bool = False,
    max_dense_bytes: int = 256 * 2**20,
    dense_share: float = 0.005,
):
    """Find the ``k`` best columns of every row of ``Q @ C.T`` (and optionally vice versa).

    Features are split by the work they cause: a feature used by many rows of both sides
    (categories, common concepts) is multiplied densely with BLAS, the many rare ones (most
    n-grams and stems) with a sparse product whose cost is proportional to the pairs that
    actually share them.  Rows of ``Q`` are processed in blocks; both parts are summed in
    float64 and rounded to float32, so scores equal those of a plain sparse product (as in
    ``MatchEngine.suggest``) whatever the summation order.  The ``k`` best per row (and,
    with ``columns``, per column of the same products) are selected with ``argpartition``;
    ties are broken by index (fit order).

    Parameters
    ----------
    Q, C : scipy.sparse.csr_matrix
        Query rows and candidate rows over the same features.
    k : int
        Results per row (and per column).
    block_size : int, default=2048
        Query rows per block.
    columns : bool, default=False
        Also return the ``k`` best rows of ``Q`` for every row of ``C`` (same products).
    max_dense_bytes : int, default=256 MiB
        Memory bound for the dense feature block and for keeping the float32 score matrix
        (needed for ``columns``; above it, column candidates are merged per block instead).
    dense_share : float, default=0.005
        A feature goes to the dense part when the pairs sharing it exceed this share of all
        pairs.

    Returns
    -------
    rows : list of (list, list)
        Per row of ``Q``: candidate indices and scores, best first.
    cols : list of (list, list) or None
        Per row of ``C``: query indices and scores, best first (if ``columns``).
    """
    Q = sp.csr_matrix(Q, dtype=np.float64)
    C = sp.csr_matrix(C, dtype=np.float64)
    n_q, n_c = Q.shape[0], C.shape[0]
    n_f = Q.shape[1]
    work = np.bincount(Q.indices, minlength=n_f).astype(np.float64) * np.bincount(
        C.indices, minlength=n_f
    )
    order = np.argsort(-work, kind="stable")
    n_dense = int(np.count_nonzero(work > dense_share * max(n_q * n_c, 1)))
    n_dense = min(n_dense, max_dense_bytes // (8 * (n_c + block_size)))
    dense_f = np.sort(order[:n_dense])
    sparse_f = np.sort(order[n_dense:][work[order[n_dense:]] > 0])
    Cd = np.ascontiguousarray(C[:, dense_f].toarray().T)
    Cs_T = C[:, sparse_f].T.tocsr()
    Qd, Qs = Q[:, dense_f].tocsr(), Q[:, sparse_f].tocsr()
    keep = columns and n_q * n_c * 4 <= max_dense_bytes
    # the scores kept for the columns' top k, written transposed block by block (a transposed
    # copy of the whole matrix at the end would cost two to three times as much)
    full_T = np.empty((n_c, n_q), dtype=np.float32) if keep else None
    rows: list[tuple[list, list]] = []
    col_cands: list[list[tuple[list, list]]] = []
    for start in range(0, n_q, block_size):
        stop = min(start + block_size, n_q)
        S = (Qs[start:stop] @ Cs_T).toarray()
        with one_blas_thread():
            S += Qd[start:stop].toarray() @ Cd
        S = S.astype(np.float32)
        rows.extend(exact_top(S, k))
        if keep:
            full_T[:, start:stop] = S.T
        elif columns:
            col_cands.append(exact_top(np.ascontiguousarray(S.T), k, offset=start))
    if not columns:
        return rows, None
    if keep:
        return rows, exact_top(full_T, k)
    cols = []
    for j in range(n_c):
        merged = sorted(((-v, i) for blk in col_cands for i, v in zip(*blk[j], strict=True)))[:k]
        cols.append(([i for _, i in merged], [-v for v, _ in merged]))
    return rows, cols
