"""Transductive zero-shot: all tiles of a raster classified together, without labels (TransCLIP).

Plain zero-shot scores each tile alone against the class text embeddings. Over one raster every tile is
known at once, so their structure can be used too: tiles of one class cluster in embedding space, and
near-identical tiles should get the same class. This module is the zero-shot case of TransCLIP (Zanella,
Gérin, Ben Ayed, "Boosting Vision-Language Models with Transduction", NeurIPS 2024), which RS-TransCLIP
(ICASSP 2025) applied to remote sensing (WHU-RS19, "a satellite photo of a {}": RemoteCLIP ViT-B/32
93.4 -> 98.1 % top-1). It was written here from the paper's formulation, checked against the update rules and
constants of the authors' public PyTorch solver (``MaxZanella/transduction-for-vlms``); none of its code is
used. Inputs are unit (or any-length: they are L2-normalised here) float embeddings, ``N x D`` tiles and
``C x D`` class prototypes; the output is ``N x C`` probabilities (rows sum to 1), float32.

The objective, over soft assignments ``z_i`` (a point on the simplex per tile) and a Gaussian mixture with one
component per class, means ``mu_k`` and one diagonal covariance ``diag(var)`` shared by all classes:

    - sum_i z_i . log N(x_i | mu, var) / T          (the mixture's likelihood, temperature T = 50)
    - sum_ij w_ij z_i . z_j / (2 k)                  (Laplacian: k-NN affinity w_ij = cosine, both directions)
    + lambda sum_i KL(z_i || yhat_i)                 (text prior: yhat = softmax(logit_scale * x . t), lambda 1)

is minimised by block majorize-minimize: the Laplacian term is linearised around the current ``z``, giving the
closed-form, per-tile (decoupled) step ``z_i ∝ yhat_i^lambda * exp(log N(x_i | mu_k, var) / T +
sum_j (w_ij + w_ji) z_j / (2k))``, repeated ``steps`` times; then the means (``z``-weighted, renormalised to unit
length as the features are) and the shared variance (``z``-weighted squared deviations) in closed form.
Means start from the ``init_top`` (8) tiles with the highest zero-shot probability for each class, weighted by
that probability; the variance starts at ``1 / D`` per dimension; ``z`` starts at ``yhat``. Constants are the
paper's zero-shot ones (k = 3, 10 rounds of 5 assignment steps, T = 50, lambda = 1). Two departures:
negative cosine affinities are set to 0 (an attraction term only; CLIP image cosines are positive in practice)
and a tile's duplicates, not only itself, may be its neighbours (the self match is dropped by index).

Cost: the likelihood and the statistics are ``N x D x C`` matrix products (expanded, never ``N x C x D``
differences), chunked over ``CHUNK_ROWS`` rows; the neighbours are exact (faiss ``IndexFlatIP``) up to
``EXACT_NEIGHBORS_MAX`` tiles and past it found within k-means cells (:func:`_cell_neighbours`), since exact
search is quadratic. Measured with ``tests/perf/bench_transductive.py`` on this project's 2-core CPU, shared
(load average 10): 100,000 x 512 synthetic tiles, 20 classes, k = 3: 8.9 CPU seconds (18 s wall), of which the
neighbour graph 4.9 (98.7 % of the true neighbours found; plain zero-shot alone takes 0.25); 8,192 tiles
(exact neighbours): 0.95 CPU seconds. Memory: one float32 copy of the embeddings plus a few ``N x C`` float32 arrays.

Results do not depend on the order of the tiles on the exact path (up to float rounding); past it the
k-means cells are trained on a seeded sample, deterministic for one order but possibly slightly different
for another.

On real features of the shipped small model (``remoteclip-qgis-small``, test splits) top-1 barely moves:
RSSCN7 81.96 -> 80.54 %, UC Merced 70.71 -> 70.95 % (its image space clusters no better than its text
classifier; see ``tests/train/benchmarks/test_zero_shot_transductive.py``).

Too few tiles (fewer than classes) or fewer than two classes raise :class:`TransductiveUnavailable`, whose
``fallback_note`` is the one line a caller prints when it falls back to plain zero-shot;
:func:`transductive_or_zero_shot` does exactly that.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import UserError

DEFAULT_NEIGHBORS = 3        # TransCLIP's k for the affinity graph
DEFAULT_ROUNDS = 10          # EM rounds (mean and variance updates)
DEFAULT_STEPS = 5            # assignment steps per round (the Laplacian is re-linearised at each)
DEFAULT_INIT_TOP = 8         # most confident tiles per class that seed its mean
DEFAULT_TEMPERATURE = 50.0   # divides the Gaussian log-likelihood (TransCLIP's 1/50)
DEFAULT_PRIOR_WEIGHT = 1.0   # lambda, the weight of the KL term to the zero-shot prior
# The prior's logit scale TransCLIP uses (CLIP's and RemoteCLIP's learned value). The small model learned 14,
# which makes the prior too soft for its weakly clustered images: top-1 RSSCN7 76.8 % and UC Merced 64.0 %
# with 14, against 80.5 and 71.0 with 100 (plain zero-shot 82.0 and 70.7). So the prior uses this one.
PRIOR_LOGIT_SCALE = 100.0
# Exact k-NN costs 2 N^2 D flops: 1 CPU s at 8,192 x 512 on this CPU (68 GFLOP per CPU second), 150 s at
# 100,000. Past this, k-means cells searched exactly among their nearest cells (see _cell_neighbours).
EXACT_NEIGHBORS_MAX = 8192
CELL_PROBES = 8              # cells searched per cell; 4 found 81 % of the true 3 neighbours at 100,000, 8 found 98 %
CHUNK_ROWS = 65_536          # rows per matrix product (64k x 512 float32 = 128 MB)
VARIANCE_FLOOR = 1e-8        # per dimension; only reached when tiles coincide with their class means


class TransductiveUnavailable(UserError):
    """The input does not allow transduction; ``fallback_note`` says so in one line for a caller's log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def fallback_note(self) -> str:
        return f"{self.reason}: plain zero-shot used"


def _normalised(x: np.ndarray) -> np.ndarray:
    """Float32 rows of unit length (a copy; zero rows stay zero)."""
    out = np.array(x, dtype=np.float32, copy=True)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _check(image: np.ndarray, text: np.ndarray) -> tuple[int, int]:
    if image.ndim != 2 or text.ndim != 2:
        raise ValueError(f"tiles should be N x D and classes C x D, got {image.shape} and {text.shape}")
    if image.shape[1] != text.shape[1]:
        raise ValueError(f"tile embeddings have {image.shape[1]} dims, class embeddings {text.shape[1]}")
    n, c = image.shape[0], text.shape[0]
    if c < 2:
        raise TransductiveUnavailable(f"transductive needs at least two classes ({c} given)")
    if n < c:
        raise TransductiveUnavailable(f"transductive needs at least as many tiles as classes ({n} tiles, {c} classes)")
    return n, c


def zero_shot_probabilities(image: np.ndarray, text: np.ndarray, logit_scale: float) -> np.ndarray:
    """Plain zero-shot: ``softmax(logit_scale * cos)`` (``N x C``), chunked; the transductive prior and fallback."""
    t = _normalised(text)
    out = np.empty((len(image), len(t)), dtype=np.float32)
    for s in range(0, len(image), CHUNK_ROWS):
        out[s:s + CHUNK_ROWS] = _softmax(logit_scale * (_normalised(image[s:s + CHUNK_ROWS]) @ t.T))
    return out


def _exact_neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``N x (k+1)`` cosines and indices of each row's nearest rows (itself usually first), faiss brute force."""
    import faiss

    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    sims = np.empty((len(x), k + 1), dtype=np.float32)
    ids = np.empty((len(x), k + 1), dtype=np.int64)
    for s in range(0, len(x), CHUNK_ROWS):
        sims[s:s + CHUNK_ROWS], ids[s:s + CHUNK_ROWS] = index.search(x[s:s + CHUNK_ROWS], k + 1)
    return sims, ids


def _cell_neighbours(x: np.ndarray, k: int, probes: int = CELL_PROBES) -> tuple[np.ndarray, np.ndarray]:
    """Approximate :func:`_exact_neighbours`: rows bucketed into ``sqrt(N)`` k-means cells; each cell's rows are
    searched exactly, in one matrix product, among the rows of the ``probes`` cells nearest its centroid.

    Measured at 100,000 x 512: faiss's ``IndexIVFFlat`` (316 lists, 4-8 probed) scans a query at a time, 50-65
    CPU s; ``IndexHNSWFlat`` (M 16) 22 CPU s; these blocked products run at BLAS speed (68 GFLOP per CPU
    second here), 4.9 CPU s at 98.7 % recall of the true 3 neighbours.
    """
    import faiss

    n, d = x.shape
    cells = max(1, int(np.sqrt(n)))
    kmeans = faiss.Kmeans(d, cells, niter=10, seed=1234, spherical=True, max_points_per_centroid=32,
                          min_points_per_centroid=16, verbose=False)
    sample = np.sort(np.random.default_rng(0).choice(n, size=min(n, 32 * cells), replace=False))
    kmeans.train(x[sample])
    centroids = kmeans.centroids
    cell = np.concatenate([(x[s:s + CHUNK_ROWS] @ centroids.T).argmax(axis=1) for s in range(0, n, CHUNK_ROWS)])
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(cells + 1))
    near = np.argsort(-(centroids @ centroids.T), axis=1, kind="stable")[:, :min(probes, cells)]
    sims = np.full((n, k + 1), -np.inf, dtype=np.float32)
    ids = np.full((n, k + 1), -1, dtype=np.int64)
    for c in range(cells):
        rows = order[bounds[c]:bounds[c + 1]]
        if len(rows) == 0:
            continue
        cand = np.concatenate([order[bounds[m]:bounds[m + 1]] for m in near[c]])
        kk = min(k + 1, len(cand))
        base = x[cand].T
        for s in range(0, len(rows), 2048):  # 2048 x candidates float32 at a time
            q = rows[s:s + 2048]
            block = x[q] @ base
            at = np.arange(len(q))
            # k+1 passes of argmax: 10x faster here than argpartition (11 s of 24) or faiss.knn on blocks (25 s).
            for j in range(kk):
                best = block.argmax(axis=1)
                sims[q, j], ids[q, j] = block[at, best], cand[best]
                block[at, best] = -np.inf
    return sims, ids


def knn_affinity(x: np.ndarray, n_neighbors: int, exact_max: int = EXACT_NEIGHBORS_MAX) -> sp.csr_matrix:
    """``N x N`` sparse ``W + W^T``: each unit row's ``n_neighbors`` nearest others by cosine (values >= 0)."""
    n = len(x)
    k = min(n_neighbors, n - 1)
    if k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    sims, ids = _exact_neighbours(x, k) if n <= exact_max else _cell_neighbours(x, k)
    # Drop each tile's own match (by index: a duplicate tile may come first), else the (k+1)-th neighbour.
    own = ids == np.arange(n)[:, None]
    own[~own.any(axis=1), k] = True
    keep = ~own
    rows = np.repeat(np.arange(n), k)
    cols, vals = ids[keep], np.maximum(sims[keep], 0.0)
    vals[cols < 0] = 0.0                   # an approximate search that found fewer than k
    cols = np.maximum(cols, 0)
    w = sp.csr_matrix((vals, (rows, cols)), shape=(n, n), dtype=np.float32)
    return (w + w.T).tocsr()


def transductive_zero_shot(
    image: np.ndarray,
    text: np.ndarray,
    logit_scale: float = PRIOR_LOGIT_SCALE,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    rounds: int = DEFAULT_ROUNDS,
    steps: int = DEFAULT_STEPS,
    init_top: int = DEFAULT_INIT_TOP,
    temperature: float = DEFAULT_TEMPERATURE,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
    exact_max: int = EXACT_NEIGHBORS_MAX,
) -> np.ndarray:
    """``N x C`` class probabilities of ``N`` tile embeddings against ``C`` class embeddings, found jointly.

    ``logit_scale`` sets the zero-shot prior's sharpness: keep ``PRIOR_LOGIT_SCALE`` (100, TransCLIP's), not
    the model's own. ``n_neighbors = 0`` drops the Laplacian term, ``rounds = 0`` keeps the initial means.
    Raises :class:`TransductiveUnavailable` for fewer tiles than classes or fewer than two classes,
    ``ValueError`` for mismatched shapes.
    """
    image, text = np.asarray(image), np.asarray(text)
    n, c = _check(image, text)
    x = _normalised(image)
    t = _normalised(text)

    log_prior = np.empty((n, c), dtype=np.float32)
    for s in range(0, n, CHUNK_ROWS):
        log_prior[s:s + CHUNK_ROWS] = _log_softmax(logit_scale * (x[s:s + CHUNK_ROWS] @ t.T))
    z = np.exp(log_prior)

    # Means from the most confident tiles of each class (they may overlap between classes).
    top = min(init_top, n)
    best = np.argpartition(-z, top - 1, axis=0)[:top]                    # top x C tile indices
    mu = np.einsum("tc,tcd->cd", z[best, np.arange(c)], x[best])
    mu = _normalised(mu)
    var = np.full(x.shape[1], 1.0 / x.shape[1], dtype=np.float64)
    affinity = knn_affinity(x, n_neighbors, exact_max) * np.float32(1.0 / (2 * max(n_neighbors, 1)))
    sq_sum = np.zeros(x.shape[1], dtype=np.float64)                        # sum_i x_i^2 per dimension
    for s in range(0, n, CHUNK_ROWS):
        sq_sum += np.square(x[s:s + CHUNK_ROWS], dtype=np.float64).sum(axis=0)

    for r in range(rounds + 1):
        # log N(x | mu_k, var) up to a per-tile constant: x . (mu_k / var) - |mu_k|^2_var / 2.
        inv = (1.0 / var).astype(np.float32)
        scaled = mu * inv
        const = 0.5 * (mu * scaled).sum(axis=1)
        unary = np.empty((n, c), dtype=np.float32)
        for s in range(0, n, CHUNK_ROWS):
            unary[s:s + CHUNK_ROWS] = (x[s:s + CHUNK_ROWS] @ scaled.T - const) / temperature
        unary += prior_weight * log_prior
        for _ in range(steps):
            z = _softmax(unary + affinity @ z) if affinity.nnz else _softmax(unary.copy())
        if r == rounds:
            break
        weighted = np.zeros((c, x.shape[1]), dtype=np.float64)              # z^T x
        for s in range(0, n, CHUNK_ROWS):
            weighted += z[s:s + CHUNK_ROWS].T @ x[s:s + CHUNK_ROWS]
        mu = _normalised(weighted)
        m64 = mu.astype(np.float64)
        # sum_ik z_ik (x_i - mu_k)^2 = sum_i x_i^2 - 2 sum_k mu_k (z^T x)_k + sum_k n_k mu_k^2, per dimension.
        dev = sq_sum - 2 * (m64 * weighted).sum(axis=0) + (z.sum(axis=0, dtype=np.float64)[:, None] * m64**2).sum(0)
        var = np.maximum(dev / n, VARIANCE_FLOOR)
    return z.astype(np.float32, copy=False)


def transductive_or_zero_shot(
    image: np.ndarray, text: np.ndarray, logit_scale: float, prior_scale: float = PRIOR_LOGIT_SCALE, **options
) -> tuple[np.ndarray, str | None]:
    """Transductive probabilities and ``None``, or plain zero-shot ones and the one-line note saying why.

    ``logit_scale`` is the model's, used only for the plain fallback (so it equals the plain zero-shot path);
    the transductive prior uses ``prior_scale`` (see ``PRIOR_LOGIT_SCALE``). The call ``zero_shot`` can make
    with the store's embeddings and the class embeddings it computes:
    ``probs, note = transductive_or_zero_shot(store.embeddings, text, model.logit_scale)``; ``note``, when not
    None, is the line to print.
    """
    try:
        return transductive_zero_shot(image, text, prior_scale, **options), None
    except TransductiveUnavailable as exc:
        return zero_shot_probabilities(np.asarray(image), np.asarray(text), logit_scale), exc.fallback_note
