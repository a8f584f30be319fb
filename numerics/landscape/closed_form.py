"""The derived closed forms of spec L, compiled to numpy and evaluated at an instance.

Verification code: it compiles the theory's expressions, which no simulator or oracle may see (see
:mod:`maml_theory.numerics`). The batch size enters through κ = 1/m so that m = ∞ (κ = 0, the exact gradient)
is an ordinary value.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from functools import cache

import mpmath
import numpy as np
import scipy.linalg
import sympy as sp

from maml_theory.numerics import validation as v
from maml_theory.numerics.compiled import numpy_function
from maml_theory.numerics.landscape.instances import DegenerateInstance, EasyHard, Mixture
from maml_theory.theory import matrix_forms as mf
from maml_theory.theory.landscape import adaptation, mixture, train_step, two_type
from maml_theory.theory.landscape import model as M

kappa = sp.Symbol("kappa", nonnegative=True)
kappa_train = sp.Symbol("kappa_train", nonnegative=True)


def _inverse(m: float) -> float:
    return 0.0 if math.isinf(m) else 1.0 / m


def _in_kappa(expr: sp.Expr) -> sp.Expr:
    """A scalar expression in m as a polynomial in κ = 1/m with factored coefficients: κ = 0 (m = ∞) is then a
    plain value rather than 0 · (1/0), and the κ⁰ coefficient of one step's contraction stays (αρ − 1)²,
    which vanishes to rounding where αρ = 1 (a direction solved in one step); expanded, 1 − 2αρ + α²ρ²
    leaves ~1e-16 there, and G, whose denominator E(w_MAML) is then tiny, lost seven digits to it."""
    return sp.collect(sp.expand(expr.subs(M.m, 1 / kappa)), kappa, sp.factor)


@dataclass(frozen=True)
class EasyHardForms:
    """Closed-form quantities of spec L §3.5 at one two-type instance (JSON-friendly floats)."""

    weight_hard_nal: float
    weight_hard_maml: float
    excess_nal: float
    excess_maml: float
    gain: float
    gain_ceiling: float
    g_hard: float
    g_easy: float


@cache
def _easy_hard_functions(module: str = "math"):
    """The two-type pieces, compiled separately so nothing large is simplified: the weight t_opt(γ),
    the objective on the segment E(t; γ, η), and one step's γ = g(ρ) and η = n(ρ) in κ = 1/m. ``module``:
    "math" for floats, "mpmath" for mpmath numbers (the same expressions, in an unbounded exponent range)."""
    H, E = two_type.TYPES
    gamma, eta, rho = two_type.gamma, two_type.eta, two_type.rho
    shared = (M.d, two_type.p[H], two_type.p[E], rho[H], rho[E])
    weight = sp.lambdify((*shared, gamma[H], gamma[E]), two_type.weight()["t_opt"], modules=module)
    segment = sp.lambdify(
        (*shared, two_type.nu[H], two_type.nu[E], two_type.R, two_type.t, gamma[H], gamma[E], eta[H], eta[E]),
        two_type.excess_on_segment().result,
        modules=module,
    )
    g_m = adaptation.isotropic_contraction()["g_m(ρ)"]
    n_m = two_type.noise_per_type()
    step = [_in_kappa(e) for e in (g_m, n_m)]
    one_step = sp.lambdify((M.d, M.alpha, M.sigma, M.rho, kappa), step, modules=module)
    g_args = (two_type.g[H], two_type.g[E])
    ceiling = sp.lambdify(g_args, two_type.ceiling()["G_max"], modules=module)
    # Σ_{j<S} g^j of L.two_type.steps, and its value S at g = 1 (where the closed form is 0/0).
    geometric = sp.lambdify((train_step.g, train_step.steps), train_step.GEOMETRIC, modules=module)
    return weight, segment, one_step, ceiling, geometric


_OUTPUTS = (
    "the weight λ",
    "the weight μ",
    "E_m(w_NAL)",
    "E_m(w_MAML)",
    "the gain G",
    "the gain ceiling (g_H + g_E)²/(4 g_H g_E)",
    "g_m(ρ_H)",
    "g_m(ρ_E)",
)
"""What each field of :class:`EasyHardForms` is, in the words of a range error."""

_SCALES = (
    "alpha",
    "rho_hard",
    "rho_easy",
    "nu_hard",
    "nu_easy",
    "sigma",
    "R",
    "d",
    "m",
    "m_train",
    "inner_steps",
)
"""The parameters of :class:`EasyHard` that set the size of the results (p_hard lies in [0, 1])."""

_INTEGRAL = ("d", "m", "m_train", "inner_steps")


def _two_type(inst: EasyHard, module: str = "math") -> tuple:
    """The fields of :class:`EasyHardForms` at ``inst``, evaluated with ``module``'s numbers."""
    weight, segment, one_step, gain_ceiling, geometric = _easy_hard_functions(module)
    num = float if module == "math" else mpmath.mpf
    shared = tuple(num(x) for x in (inst.d, inst.p_hard, inst.p_easy, inst.rho_hard, inst.rho_easy))
    alpha, sigma = num(inst.alpha), num(inst.sigma)
    (g_h, n_h), (g_e, n_e) = (one_step(shared[0], alpha, sigma, r, num(_inverse(inst.m))) for r in shared[3:])
    (g_h_train, _), (g_e_train, _) = (
        one_step(shared[0], num(inst.step_train), sigma, r, num(_inverse(inst.m_train))) for r in shared[3:]
    )
    (gs_h, ns_h), (gs_e, ns_e) = (
        _several(g, n, inst.inner_steps, geometric) for g, n in ((g_h, n_h), (g_e, n_e))
    )
    try:
        lam = weight(*shared, num(1), num(1))
        mu = weight(*shared, g_h_train, g_e_train)
    except ZeroDivisionError:
        raise DegenerateInstance(
            "the MAML objective has no unique minimiser here (every task is solved exactly by one step)"
        ) from None

    def excess(t: float) -> float:
        return segment(*shared, num(inst.nu_hard), num(inst.nu_easy), num(inst.R), t, gs_h, gs_e, ns_h, ns_e)

    e_nal, e_maml = excess(lam), excess(mu)
    if e_maml <= 0:
        raise DegenerateInstance("E_m(w_MAML) = 0: every task is solved exactly, so the gain is undefined")
    # A type solved exactly by one step (g = 0) leaves the ceiling unbounded.
    ceiling = gain_ceiling(g_h, g_e) if g_h > 0 and g_e > 0 else math.inf
    return lam, mu, e_nal, e_maml, e_nal / e_maml, ceiling, g_h, g_e


def _several(g, n, steps: int, geometric) -> tuple:
    """γ = g^S and η = η₁ Σ_{j<S} g^j after S test-time steps (L.two_type.steps) from one step's g and η₁;
    at S = 1 exactly the one-step values (g**1 is g, the sum (1 − g)/(1 − g) = 1, or S = 1 at g = 1)."""
    return g**steps, n * (steps if g == 1 else geometric(g, steps))


def _in_float64(values: tuple) -> list[str]:
    """The reasons why mpmath ``values`` of :func:`_two_type` cannot be float64 results (none: they can):
    beyond float64's largest number, or a nonzero value below its smallest (but a weight, in [0, 1], is
    then 0 to within that). An unbounded ceiling is a value, not an overflow."""
    reasons = []
    for i, (what, x) in enumerate(zip(_OUTPUTS, values, strict=True)):
        if x == math.inf and i == 5:
            continue
        if abs(x) > sys.float_info.max:
            reasons.append(f"{what} = {mpmath.nstr(x, 3)} exceeds float64's largest number, 1.8e308")
        elif i > 1 and x != 0 and float(x) == 0.0:
            reasons.append(f"{what} = {mpmath.nstr(x, 3)} is below float64's smallest number, 4.9e-324")
    return reasons


def _wide_range(inst: EasyHard) -> tuple:
    """The fields at ``inst`` where floats overflowed on the way: evaluated in mpmath (53 bits, an unbounded
    exponent range), returned as floats where float64 holds them, else :class:`ParameterError` naming the
    parameter furthest from its default among those whose default, the others as given, would bring every
    result into float64's range, with the bound it must keep (:func:`validation.culprit`)."""
    with mpmath.workprec(53):
        values = _two_type(inst, "mpmath")
        reasons = _in_float64(values)
        if not reasons:
            return tuple(float(x) for x in values)
        given = {k: getattr(inst, k) for k in _SCALES}
        typical = {k: getattr(EasyHard(), k) for k in _SCALES}

        def fits(scales: dict) -> bool:
            args = {k: math.floor(x) if k in _INTEGRAL and math.isfinite(x) else x for k, x in scales.items()}
            try:
                return not _in_float64(_two_type(dataclasses.replace(inst, **args), "mpmath"))
            except (DegenerateInstance, v.ParameterError):
                return False

        name, bound = v.culprit(given, typical, fits)
    if bound is None:
        allowed = "in a range where float64 holds the results"
    else:
        side = "at most" if bound < given[name] else "at least"
        shown = f"{math.floor(bound) if name in _INTEGRAL else bound:.3g}"
        allowed = f"{side} {shown} with the other parameters as given"
    raise v.ParameterError(name, f"{allowed}: here {reasons[0]}", given[name])


def easy_hard(inst: EasyHard) -> EasyHardForms:
    """λ, μ, E_m(w_NAL), E_m(w_MAML), G, and the ceiling (g_H + g_E)²/(4 g_H g_E) of §3.6e.

    Evaluated in floats; where an intermediate overflows (a float power raises OverflowError, a product
    becomes ∞, an ∞/∞ NaN) or underflows (a zero E_m(w_MAML), weight denominator or 4 g_H g_E), once more in
    mpmath (:func:`_wide_range`): the results if float64 holds them, else :class:`ParameterError` with the
    reason.

    >>> from maml_theory.numerics.landscape.instances import EasyHard
    >>> forms = easy_hard(EasyHard())  # d = 5, α = 1, p_H = 0.8, ρ_H = 0.1, ρ_E = 1, R = 5, m = 100
    >>> round(forms.gain, 5), round(forms.weight_hard_maml, 6), round(forms.weight_hard_nal, 6)
    (3.30554, 0.843848, 0.285714)
    """
    try:
        values = _two_type(inst)
    except (OverflowError, ZeroDivisionError, DegenerateInstance):  # ZeroDivision: a product underflowed
        values = _wide_range(inst)
    # The ceiling alone may be infinite, and only where a type is solved exactly (g = 0).
    unbounded = min(values[6], values[7]) == 0.0 and values[5] == math.inf
    if not all(math.isfinite(x) for x in values[:5] + values[6:]) or not (
        unbounded or math.isfinite(values[5])
    ):
        values = _wide_range(inst)
    return EasyHardForms(*values)


@dataclass(frozen=True)
class TrainStepOptimum:
    """The training step sizes that maximise G at a two-type instance (spec L §2 with α_train, derivation
    L.alpha_train.optimum): ``alpha_train`` the maximisers, sorted (two that tie exactly when both reach the
    test-optimal weight t*, ``reaches_test_optimum``; else the one root of P₂ whose μ is closest to t*),
    ``gain`` G there."""

    alpha_train: tuple[float, ...]
    gain: float
    reaches_test_optimum: bool

    @property
    def negative(self) -> bool:
        """Whether a negative α_train is among the maximisers."""
        return any(x < 0 for x in self.alpha_train)


@cache
def _stationarity_functions(module: str = "math"):
    """The coefficients (C₂, C₁, C₀) in α_train of P₁/m_train and P₂/m_train (L.alpha_train.optimum), as
    functions of (d, ρ_H, ρ_E, Γ_H, Γ_E, κ_train), κ_train = 1/m_train (0: the exact gradient); ``module``
    "math" for floats, "mpmath" for mpmath numbers."""
    dv = train_step.optimum()
    H, E = two_type.TYPES
    args = (M.d, two_type.rho[H], two_type.rho[E], train_step.Gamma[H], train_step.Gamma[E], kappa_train)
    out = []
    for name in ("P₁", "P₂"):
        poly = sp.Poly(sp.expand(dv[name] / two_type.m_train), M.alpha_train)
        coeffs = [sp.factor(sp.expand(c.subs(two_type.m_train, 1 / kappa_train))) for c in poly.all_coeffs()]
        out.append(sp.lambdify(args, coeffs, modules=module))
    return tuple(out)


def _real_roots(c2: float, c1: float, c0: float) -> list[float]:
    """The real roots of c₂x² + c₁x + c₀ (linear when c₂ = 0), by the cancellation-free quadratic formula,
    the coefficients first divided by the largest (same roots; c₁² − 4c₂c₀ then cannot overflow). A
    discriminant within its own rounding, 4ε c₁², of 0 is a double root, reported once."""
    top = max(abs(c2), abs(c1), abs(c0))
    if top == 0:
        return []
    c2, c1, c0 = c2 / top, c1 / top, c0 / top
    if c2 == 0:
        return [-c0 / c1] if c1 != 0 else []
    disc = c1 * c1 - 4 * c2 * c0
    if abs(disc) <= 4 * sys.float_info.epsilon * c1 * c1:
        return [-c1 / (2 * c2)]
    if disc < 0:
        return []
    q = -(c1 + math.copysign(math.sqrt(disc), c1)) / 2
    return sorted({q / c2, c0 / q} if q != 0 else {0.0})


def stationarity_coefficients(
    inst: EasyHard,
) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
    """(C₂, C₁, C₀) of P₁/m_train and of P₂/m_train in α_train at ``inst`` (:func:`_stationarity_functions`),
    with the test factors Γ_k = g_m(ρ_k)^S divided by the larger (P₁ is homogeneous in them, so its roots
    stay; g^S is taken in mpmath, where it neither overflows nor underflows); None when both are 0."""
    _, _, one_step, _, _ = _easy_hard_functions("mpmath")
    # g_m(ρ), the first of one_step's pair, in mpmath (53 bits, an unbounded exponent range): at ρ = 1e308 or
    # σ = 1e308 its float evaluation overflowed (σ enters only the pair's noise term).
    with mpmath.workprec(53):
        args = [mpmath.mpf(x) for x in (inst.d, inst.alpha, inst.sigma)]
        powers = [
            one_step(*args, mpmath.mpf(r), mpmath.mpf(_inverse(inst.m)))[0] ** inst.inner_steps
            for r in (inst.rho_hard, inst.rho_easy)
        ]
    top = max(powers)
    if top == 0:
        return None
    args = (inst.d, inst.rho_hard, inst.rho_easy, *(float(x / top) for x in powers), _inverse(inst.m_train))
    try:
        return tuple(tuple(p(*args)) for p in _stationarity_functions())
    except (OverflowError, ZeroDivisionError):
        # ρ = 1e308 overflows the coefficients' powers of ρ: in mpmath, each triple divided by its largest
        # (the roots, and Newton steps on them, are unchanged by a common factor).
        with mpmath.workprec(53):
            triples = [p(*(mpmath.mpf(x) for x in args)) for p in _stationarity_functions("mpmath")]
            return tuple(
                tuple(float(c / max(abs(x) for x in t)) if any(t) else 0.0 for c in t) for t in triples
            )


def optimal_alpha_train(inst: EasyHard) -> TrainStepOptimum | None:
    """The α_train maximising G = E_m(w_NAL)/E_m(w_MAML(α_train)) over all reals at ``inst`` (its own
    alpha_train is ignored), or None where G does not depend on α_train (R = 0, one type only, ρ_H = ρ_E, or
    both test factors Γ_k zero).

    E_m(w_MAML) depends on α_train only through μ, and is least where μ = t*: at the real roots of P₁, which
    tie; where P₁ has none, t* is outside μ's range and the best is the extremum of μ closest to it, a root
    of P₂ (module :mod:`maml_theory.theory.landscape.train_step`). A root where G leaves float64's range is
    passed over; :class:`DegenerateInstance` when every one does."""
    coefficients = None
    if inst.R > 0 and 0.0 < inst.p_hard < 1.0 and inst.rho_hard != inst.rho_easy:
        coefficients = stationarity_coefficients(inst)
    if coefficients is None:
        return None
    matched = _real_roots(*coefficients[0])
    candidates = matched or _real_roots(*coefficients[1])
    gains = {}
    for a in candidates:
        try:
            gains[a] = easy_hard(dataclasses.replace(inst, alpha_train=a)).gain
        except (v.ParameterError, DegenerateInstance):
            continue
    if not gains:
        raise DegenerateInstance(f"G is out of float64's range at every optimal α_train ({candidates})")
    best = max(gains.values())
    chosen = tuple(gains) if matched else tuple(a for a in gains if gains[a] == best)
    return TrainStepOptimum(chosen, best, bool(matched))


@cache
def _curvature_functions():
    """Q(m) and n(m) of one task as numpy functions of the eigenvalues λ of Σ, of tr Σʲ and of (α, σ, κ),
    and the powers j of the traces they take.

    The derived Q is a polynomial in the one matrix Σ with scalar coefficients (traces tr Σʲ among them), so
    in the eigenbasis Σ = U diag(λ) Uᵀ it is U diag(q(λ)) Uᵀ, q the same polynomial in a scalar s, put in
    κ = 1/m by :func:`_in_kappa`: its κ⁰ coefficient is s(αs − 1)², exact to rounding where αλ = 1 (expanded
    as the matrix Σ − 2αΣ² + α²Σ³ it left ~1e-16·‖Σ‖ there)."""
    s = sp.Symbol("s")
    exprs = [adaptation.curvature(), adaptation.noise()]
    traces = sorted(set().union(*(e.atoms(sp.Trace) for e in exprs)), key=sp.default_sort_key)
    powers = [t.arg.exp if isinstance(t.arg, sp.MatPow) else 1 for t in traces]
    if any(t.arg != M.Sigma**j for t, j in zip(traces, powers, strict=True)):
        raise ValueError(f"Q and n hold traces other than tr Σʲ: {traces}")
    names = [sp.Symbol(f"tr{j}") for j in powers]
    scalar = []
    for c, factors in mf.terms(exprs[0], (M.Sigma,)):
        if any(f != M.Sigma for f in factors):
            raise ValueError(f"Q is not a polynomial in Σ alone: {factors}")
        scalar.append(c * s ** len(factors))
    to_names = dict(zip(traces, names, strict=True))
    q, n = (_in_kappa(e.xreplace(to_names)) for e in (sp.Add(*scalar), exprs[1]))
    args = (s, *names, M.alpha, M.sigma, kappa)
    return sp.lambdify(args, q, modules="numpy"), sp.lambdify(args, n, modules="numpy"), powers


def curvature(cov: np.ndarray, alpha: float, sigma: float, m: float) -> tuple[np.ndarray, float]:
    """Q(m) and the noise term n(m) of one task with covariance ``cov`` (§3.2), through the eigenvalues of
    ``cov`` (:func:`_curvature_functions`)."""
    q, n, powers = _curvature_functions()
    lam, u = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    args = (lam, *(float(np.sum(lam**j)) for j in powers), alpha, sigma, _inverse(m))
    # Broadcast: a q that does not depend on s would come back as one number.
    q_values = np.broadcast_to(q(*args), lam.shape)
    return (u * q_values) @ u.T, float(n(*args))


@cache
def _minimiser_function(k: int):
    types = tuple(range(1, k + 1))
    syms = [mixture.type_symbols(i) for i in types]
    args = [M.d] + [s[n] for s in syms for n in ("p", "C", "c", "center", "V")]
    return numpy_function(args, mixture.minimiser(types).result)


@cache
def _centred_function():
    s = mixture.type_symbols(1)
    e = sp.MatrixSymbol("e", M.d, 1)
    return numpy_function((e, M.d, s["p"], s["C"], s["c"], s["V"]), mixture.centred().result)


@dataclass(frozen=True, eq=False)
class MixtureForms:
    """Closed forms at a general mixture: the two minimisers and the adapted excess E_m at any point."""

    mix: Mixture
    w_maml: np.ndarray
    w_nal: np.ndarray

    def excess(self, w: np.ndarray) -> float:
        """E_m(w) = Σ_k p_k [½ (w − w_k)ᵀ Q_k(m) (w − w_k) + ½ tr(Q_k(m) V_k) + n_k(m)]."""
        share = _centred_function()
        col = np.asarray(w, dtype=np.float64).reshape(-1, 1)
        total = 0.0
        for t in self.mix.types:
            q, n = curvature(t.cov, self.mix.alpha, self.mix.sigma, self.mix.m)
            e = col - t.center.reshape(-1, 1)
            total += float(np.asarray(share(e, self.mix.d, t.prob, q, n, t.opt_cov)).reshape(()))
        return total

    @property
    def gain(self) -> float:
        return self.excess(self.w_nal) / self.excess(self.w_maml)


def _mixture_args(mix: Mixture, m: float | None, alpha: float | None = None, *, adapted: bool = True) -> list:
    args: list = [mix.d]
    for t in mix.types:
        if adapted:
            q, n = curvature(t.cov, alpha, mix.sigma, m)
        else:
            q, n = t.cov, mix.sigma**2 / 2
        args += [t.prob, q, n, t.center.reshape(-1, 1), t.opt_cov]
    return args


def mixture_forms(mix: Mixture) -> MixtureForms:
    """w_MAML = Q̄⁻¹ E[Q_i w*_i] (Q at m_train and α_train) and w_NAL = Σ̄⁻¹ E[Σ_i w*_i] at ``mix``, by the
    derived formula."""
    minimiser = _minimiser_function(len(mix.types))

    def solve(args: list) -> np.ndarray:
        try:
            return np.asarray(minimiser(*args), dtype=np.float64).reshape(-1)
        except np.linalg.LinAlgError:
            raise DegenerateInstance("the objective's Hessian Σ_k p_k C_k is singular") from None

    w_maml = solve(_mixture_args(mix, mix.m_train, mix.step_train))
    w_nal = solve(_mixture_args(mix, None, adapted=False))
    return MixtureForms(mix, w_maml, w_nal)


def hardness_spread(mix: Mixture) -> tuple[float, float]:
    """g_min, g_max: the extreme eigenvalues of Σ_i^{-1/2} Q_i(m) Σ_i^{-1/2} over the types (the
    generalised eigenvalues of the pencil (Q_i, Σ_i))."""
    eigs = np.concatenate(
        [
            scipy.linalg.eigh(curvature(t.cov, mix.alpha, mix.sigma, mix.m)[0], t.cov, eigvals_only=True)
            for t in mix.types
        ]
    )
    return float(eigs.min()), float(eigs.max())
