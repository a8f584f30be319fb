"""The finite-sample meta-gradient with only what it depends on sampled: exact in distribution.

:func:`meta_gradient` returns a draw of (G_B, G_w) with the same joint law as
:func:`maml_theory.numerics.representation.simulate.meta_gradient` on the batches of
:func:`maml_theory.numerics.representation.instances.draw_round` (given the heads), without drawing the n(m_in
+ m_out) d-dimensional samples.

Derivation. B is d × h (h ≥ k, the layer's width; h = k in spec R), B_* d × k. Let Q (d × r,
r = min(d, h + k)) be an orthonormal basis of a space S ⊇ col(B) + col(B_*) and
Q_⊥ one of its complement (dimension D = d − r, never formed). A batch (X, y = XB_*θ + σz) of m samples
splits into Y = [XQ, z] (m × p, p = r + 1: the S coordinates and the noise) and H = XQ_⊥ (m × D), independent
with iid N(0, 1) entries. The method's formulas query the batch through regressor-side products X v and
sample-side products Xᵀa only (simulate.py's docstring), so:
1. Y enters only through its Gram matrix: Y = U T with U (m × m) orthogonal and T (p' × p, p' = min(m, p))
   upper trapezoidal, T_jj ~ χ_{m−j} (j = 0, 1, …), T_jl ~ N(0, 1) for l > j (Bartlett), U independent of T.
   UᵀH is again iid N(0, 1) and independent of T, so every product is computed in the rotated sample
   coordinates: the rows p' … m − 1 of UᵀY vanish ("top" vectors have p' entries).
2. H is independent of Y. A sample-side product Hᵀa with a depending on Y only is N(0, ‖a‖²I_D) given Y.
   NAL, FO-ANIL and exact ANIL query H only so, and only to accumulate G_B: their complement part is
   Σ_i H_iᵀT_i (T_i p'×h coefficient matrices of task i, inner and outer batch), whose D rows are iid
   N(0, K), K = Σ_i T_iᵀT_i. It is drawn as Q_⊥Z·F with FᵀF = K (the R factor of the stacked T_i) and Z
   (D × h) iid: d·h normals per round in all, Q_⊥Z drawn as (I − QQᵀ)Z' with Z' (d × h) iid (the same law).
3. MAML adapts B, so the outer batch sees the complement direction of s⁰ (the inner step's residual
   gradient), and exact MAML's inner batch is queried again at h = (wᵀw_i)s̃ + Bu, which has a complement
   part along s̃_⊥. Each such query is sampled from the Gaussian conditional law of H given the earlier
   queries of the same H. For H (m × D) iid with known Hᵀa₁ = ψ (a₁ a unit vector independent of H):
   H = a₁ψᵀ + (I − a₁a₁ᵀ)H', H' an independent copy. Then for a unit u₁ (possibly depending on ψ):
   Hu₁ = a₁(ψᵀu₁) + (I − a₁a₁ᵀ)γ, γ ~ N(0, I_m) fresh, and afterwards, for any a (depending on all that),
   Hᵀa = ψ(a₁ᵀa) + u₁(γᵀ(I − a₁a₁ᵀ)a) + ‖(I − a₁a₁ᵀ)a‖ (I − u₁u₁ᵀ)ω, ω ~ N(0, I_D) fresh. The case without
   a first query is a₁ = 0. Per task: one Gaussian D-vector per sample-side query (ξ for s⁰, ω for s̃ and,
   exact MAML, q = Σ̂_a h), one m-vector γ per complement regressor query, split as its top p' entries and
   the χ²_{m−p'} squared norm of the rest (only that norm and inner products with top vectors occur).
All draws are exact, so the update has exactly the naive sampler's law (tests/test_representation_sampler.py
compares their moments). Per round: O(n(p² + [MAML] d) + dh) random numbers instead of n(m_in + m_out)(d + 1).
Nothing here needs h = k: the construction is the same for a wider layer (tests/test_representation_family.py
compares the two samplers' moments there too). It does need one inner step: s steps query each batch again.

Randomness: per run, the normals come from one ``standard_normal`` call and the χ² variables from one
``standard_gamma`` call on that run's generator, in a layout fixed by (method, d, k, n, m_in, m_out).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np

from maml_theory.numerics import validation as v
from maml_theory.numerics.representation.instances import Streams, resolve_method
from maml_theory.theory.method import Method


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Inner products over the last axis."""
    return np.sum(a * b, axis=-1)


def _unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(‖x‖, x/‖x‖) over the last axis; the zero vector gets direction 0 (its queries carry nothing)."""
    norm = np.sqrt(_dot(x, x))
    return norm, x / np.where(norm > 0.0, norm, 1.0)[..., None]


_LAPACK_QR_ENTRIES = 20_000


def span_basis(M: np.ndarray) -> np.ndarray:
    """Q (…, d, min(c, d)) with orthonormal columns and col(M) ⊆ col(Q), for M (…, d, c) of any rank.

    Householder reflections: LAPACK's for small matrices; written out in numpy (columns of M as contiguous
    rows) above :data:`_LAPACK_QR_ENTRIES`, where LAPACK's unblocked level-2 QR of a tall thin matrix runs
    on threaded BLAS that stalls whenever the other cores are busy (measured: 3 to 90 ms at 10⁴×10).
    """
    if M.shape[-2] * M.shape[-1] <= _LAPACK_QR_ENTRIES:
        return np.linalg.qr(M)[0]
    At = np.array(_swap(M), dtype=np.float64)
    c, d = At.shape[-2:]
    c = min(c, d)
    V = np.zeros((*At.shape[:-2], c, d))
    for j in range(c):
        v = At[..., j, j:].copy()
        norm = np.sqrt(_dot(v, v))
        v[..., 0] += np.where(v[..., 0] >= 0, norm, -norm)
        v_norm = np.sqrt(_dot(v, v))
        v /= np.where(v_norm > 0, v_norm, 1.0)[..., None]
        v[..., 0] = np.where(v_norm > 0, v[..., 0], 1.0)  # a zero column: any reflection will do
        V[..., j, j:] = v
        rest = At[..., j:, j:]
        rest -= 2.0 * (rest @ v[..., :, None]) * v[..., None, :]
    Qt = np.zeros((*At.shape[:-2], c, d))
    Qt[..., np.arange(c), np.arange(c)] = 1.0
    for j in reversed(range(c)):
        v = V[..., j, j:]
        rest = Qt[..., :, j:]
        rest -= 2.0 * (rest @ v[..., :, None]) * v[..., None, :]
    return _swap(Qt)


class _Layout:
    """Names and shapes (per run) of the normal and χ² draws, in draw order."""

    def __init__(self) -> None:
        self.normals: dict[str, tuple[int, ...]] = {}
        self.chi2: dict[str, np.ndarray] = {}

    def normal(self, name: str, *shape: int) -> None:
        self.normals[name] = shape

    def chi_square(self, name: str, dof: np.ndarray) -> None:
        self.chi2[name] = np.asarray(dof, dtype=np.float64)

    def draw(self, streams: list[np.random.Generator]) -> dict[str, np.ndarray]:
        """Per stream one normal and one gamma call; χ²_ν = 2·Gamma(ν/2), which is 0 for ν = 0."""
        R = len(streams)
        sizes = [math.prod(s) for s in self.normals.values()]
        shapes = np.concatenate([dof.ravel() for dof in self.chi2.values()]) / 2.0
        normals = np.empty((R, sum(sizes)))
        gammas = np.empty((R, shapes.size))
        for stream, z, g in zip(streams, normals, gammas, strict=True):
            stream.standard_normal(out=z)
            g[...] = stream.standard_gamma(shapes)
        out = {}
        start = 0
        for (name, shape), size in zip(self.normals.items(), sizes, strict=True):
            out[name] = normals[:, start : start + size].reshape(R, *shape)
            start += size
        start = 0
        for name, dof in self.chi2.items():
            out[name] = 2.0 * gammas[:, start : start + dof.size].reshape(R, *dof.shape)
            start += dof.size
        return out


@cache
def _upper(rows: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the strictly upper triangle of a rows × columns matrix (cached: numpy is slow at it)."""
    return np.triu_indices(rows, k=1, m=columns)


class _Batch:
    """One batch per task (m samples) in S coordinates: the Bartlett factor T (…, n, p', p) of Y = [XQ, z]."""

    def __init__(self, name: str, n: int, m: int, p: int, layout: _Layout) -> None:
        self.name, self.n, self.m, self.p = name, n, m, p
        self.top = min(m, p)
        self._upper = _upper(self.top, p)
        layout.normal(f"{name}.T", n, self._upper[0].size)
        layout.chi_square(f"{name}.diag", np.broadcast_to(m - np.arange(self.top), (n, self.top)))

    def factor(self, draws: dict[str, np.ndarray]) -> None:
        normals = draws[f"{self.name}.T"]
        T = np.zeros((*normals.shape[:-1], self.top, self.p))
        T[..., self._upper[0], self._upper[1]] = normals
        diag = np.arange(self.top)
        T[..., diag, diag] = np.sqrt(draws[f"{self.name}.diag"])
        self.T_S = T[..., :-1]  # (…, n, p', r): the S columns
        self.T_z = T[..., -1]  # (…, n, p'): the noise column

    def regress(self, x: np.ndarray, noise: float = 0.0) -> np.ndarray:
        """The top entries of Uᵀ(XQx + noise·z) for S coordinates x (…, n, r): (…, n, p')."""
        return (self.T_S @ x[..., None])[..., 0] + noise * self.T_z

    def adjoint(self, a: np.ndarray) -> np.ndarray:
        """The S coordinates Qᵀ Xᵀ(Ua) of a top vector a (…, n, p'): (…, n, r)."""
        return (a[..., None, :] @ self.T_S)[..., 0, :]


def meta_gradient(
    method: Method | str,
    B: np.ndarray,
    w: np.ndarray,
    B_star: np.ndarray,
    heads: np.ndarray,
    alpha: float,
    *,
    sigma: float,
    m_in: int,
    m_out: int,
    rng: Streams,
) -> tuple[np.ndarray, np.ndarray]:
    """A draw of the finite-sample (G_B, G_w) of one round, by the construction of the module docstring.

    ``rng`` is one generator (B (d, h), w (h,), B_star (d, k), heads (n, k); outputs without a run axis) or a
    sequence of R generators, one per run (inputs with a leading run axis R, B_star may be (d, k)).
    ``method``: a preset (its name or its Method); the construction covers at most one inner step.
    """
    resolved = resolve_method(method)
    if resolved.inner_steps > 1:
        raise v.ParameterError(
            "method", "a method with at most one inner step (the projected sampler's)", method
        )
    method = resolved.family
    single = isinstance(rng, np.random.Generator)
    streams = [rng] if single else list(rng)
    R = len(streams)
    d, h = B.shape[-2:]
    n = heads.shape[-2]
    B, w, B_star, heads = (
        np.broadcast_to(a, (R, *a.shape[-s:])) for a, s in ((B, 2), (w, 1), (B_star, 2), (heads, 2))
    )

    Q = span_basis(np.concatenate([B_star, B], axis=-1))  # (R, d, r)
    r = Q.shape[-1]
    Bs = _swap(Q) @ B  # (R, r, h)
    target = heads @ _swap(_swap(Q) @ B_star)  # Qᵀ B_*θ_i, (R, n, r)
    has_complement = d > r

    def perp(x: np.ndarray) -> np.ndarray:
        """(I − QQᵀ)x for vectors x (R, …, d): iid N(0, 1) x becomes Q_⊥ times an iid vector."""
        if not has_complement:
            return np.zeros_like(x)
        return x - (x @ Q) @ _swap(Q)

    layout = _Layout()
    inner = None if method == "nal" else _Batch("in", n, m_in, r + 1, layout)
    outer = _Batch("out", n, m_out, r + 1, layout)
    maml = method in ("maml", "fo-maml")
    if maml:
        layout.normal("xi", n, d)  # s⁰'s complement direction
        layout.normal("g", n, outer.top)  # outer batch at that direction: top entries …
        layout.chi_square("g.rest", np.full(n, m_out - outer.top))  # … and the rest's squared norm
        layout.normal("omega.out", n, d)
        if method == "maml":
            layout.normal("gamma", n, inner.top)
            layout.chi_square("gamma.rest", np.full(n, m_in - inner.top))
            layout.normal("omega.in", n, d)
    else:
        rows = n * (outer.top + (inner.top if method == "anil" else 0))
        layout.normal("Z", d, min(rows, h))
    draws = layout.draw(streams)
    outer.factor(draws)

    p0 = (Bs @ w[..., None])[..., None, :, 0]  # QᵀBw, (R, 1, r)
    if method == "nal":
        t = outer.regress(p0 - target, -sigma)
        s_bar = outer.adjoint(t).mean(axis=-2) / m_out
        G_S = s_bar[..., :, None] * w[..., None, :]
        G_w = (s_bar[..., None, :] @ Bs)[..., 0, :]
        coef = [t[..., :, None] * w[..., None, None, :] / (n * m_out)]
        return _finish(single, Q, G_S, G_w, coef, draws["Z"], perp)

    inner.factor(draws)
    t0 = inner.regress(p0 - target, -sigma)  # inner residual, top entries
    s0 = inner.adjoint(t0) / m_in  # S part of s⁰ = Σ̂_a Bw − ĉ_a
    w_i = w[..., None, :] - alpha * (s0 @ Bs)
    if not maml:
        t = outer.regress(w_i @ _swap(Bs) - target, -sigma)
        s = outer.adjoint(t) / m_out
        g = s @ Bs
        G_S = _swap(s) @ w_i / n
        G_w = g.mean(axis=-2)
        coef = [t[..., :, None] * w_i[..., None, :] / (n * m_out)]
        if method == "anil":
            a = inner.regress(g @ _swap(Bs))  # Σ̂_a B g, top entries
            q = inner.adjoint(a) / m_in
            G_S = G_S - alpha * (_swap(s0) @ g + q.sum(axis=-2)[..., :, None] * w[..., None, :]) / n
            G_w = G_w - alpha * (q @ Bs).mean(axis=-2)
            inner_coef = t0[..., :, None] * g[..., None, :] + a[..., :, None] * w[..., None, None, :]
            coef.append(-alpha * inner_coef / (n * m_in))
        return _finish(single, Q, G_S, G_w, coef, draws["Z"], perp)

    # MAML: complement vectors are drawn per task (point 3 of the module docstring).
    t0_norm, a1 = _unit(t0)
    xi = perp(draws["xi"])  # H_aᵀa₁ for the inner batch's first query a₁ = t0/‖t0‖
    s0_perp = t0_norm[..., None] * xi / m_in
    overlap = _dot(w_i, w[..., None, :])  # wᵀw_i, (R, n)
    x_S = w_i @ _swap(Bs) - alpha * overlap[..., None] * s0  # B_i w_i = Bw_i − α(wᵀw_i)s⁰
    x_norm, x_dir = _unit(-alpha * overlap[..., None] * s0_perp)
    g, g_rest = draws["g"], draws["g.rest"]  # H_o x_dir = (g, rest), ‖rest‖² = g_rest
    top = outer.regress(x_S - target, -sigma) + x_norm[..., None] * g
    g_dot = _dot(g, top) + x_norm * g_rest  # (H_o x_dir)ᵀ ε̃
    res_sq = _dot(top, top) + x_norm**2 * g_rest  # ‖ε̃‖²
    omega = perp(draws["omega.out"])
    omega = omega - x_dir * _dot(x_dir, omega)[..., None]
    s_S = outer.adjoint(top) / m_out
    s_perp = (x_dir * g_dot[..., None] + np.sqrt(res_sq)[..., None] * omega) / m_out
    s_overlap = _dot(s0, s_S) + _dot(s0_perp, s_perp)  # s⁰ᵀs̃
    u = s_S @ Bs - alpha * s_overlap[..., None] * w[..., None, :]
    G_S = _swap(s_S) @ w_i / n
    G_perp = _swap(s_perp) @ w_i / n
    G_w = u.mean(axis=-2)
    if method == "maml":
        h_S = overlap[..., None] * s_S + u @ _swap(Bs)
        h_norm, u1 = _unit(overlap[..., None] * s_perp)
        gamma, gamma_rest = draws["gamma"], draws["gamma.rest"]
        a1_gamma = _dot(a1, gamma)
        # ρ = X_a h in rotated sample coordinates: top entries, and h_norm·(rest of γ) below.
        rho = (
            inner.regress(h_S)
            + a1 * _dot(xi, u1 * h_norm[..., None])[..., None]
            + h_norm[..., None] * (gamma - a1 * a1_gamma[..., None])
        )
        a1_rho = _dot(a1, rho)
        gamma_rho = _dot(gamma, rho) - a1_gamma * a1_rho + h_norm * gamma_rest  # γᵀ(I − a₁a₁ᵀ)ρ
        rho_perp_sq = np.maximum(_dot(rho, rho) - a1_rho**2 + h_norm**2 * gamma_rest, 0.0)
        omega = perp(draws["omega.in"])
        omega = omega - u1 * _dot(u1, omega)[..., None]
        q_S = inner.adjoint(rho) / m_in
        q_perp = (
            xi * a1_rho[..., None] + u1 * gamma_rho[..., None] + np.sqrt(rho_perp_sq)[..., None] * omega
        ) / m_in
        G_S = G_S - alpha * (q_S.sum(axis=-2)[..., :, None] * w[..., None, :] + _swap(s0) @ u) / n
        G_perp = (
            G_perp - alpha * (q_perp.sum(axis=-2)[..., :, None] * w[..., None, :] + _swap(s0_perp) @ u) / n
        )
        G_w = G_w - alpha * (s_overlap[..., None] * w_i + q_S @ Bs).mean(axis=-2)
    G_B = Q @ G_S + G_perp
    return (G_B[0], G_w[0]) if single else (G_B, G_w)


def _finish(
    single: bool,
    Q: np.ndarray,
    G_S: np.ndarray,
    G_w: np.ndarray,
    coef: list[np.ndarray],
    Z: np.ndarray,
    perp: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """G_B = QG_S + Σ_i H_iᵀT_i for NAL and the ANIL methods, the sum drawn as Q_⊥Z·F, FᵀF = K (point 2 of
    the module docstring): ``coef`` lists the T_i (R, n, p', h) of each batch, Z (R, d, min(Σp', h)) iid."""
    T = np.concatenate([c.reshape(*c.shape[:-3], -1, c.shape[-1]) for c in coef], axis=-2)
    F = np.linalg.qr(T, mode="r")  # FᵀF = TᵀT = K
    G_B = Q @ G_S + _swap(perp(_swap(Z @ F)))
    return (G_B[0], G_w[0]) if single else (G_B, G_w)
