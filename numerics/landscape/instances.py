"""Instances of spec L, validated at construction.

Conventions (stated once, used everywhere):
- task loss f_i(w) = ½ E[(⟨w, x⟩ − y)²] = ½ (w − w*_i)ᵀ Σ_i (w − w*_i) + σ²/2  (the ½ is in the loss);
- ``sigma`` is the label-noise STANDARD DEVIATION σ (noise variance σ²);
- ``nu_hard``/``nu_easy`` and ``opt_cov`` are VARIANCES: w*_i ~ (w_k, V_k), V_k = ν_k I, so
  E‖w* − w_k‖² = d ν_k;
- one adaptation step w ↦ w − α ĝ(w) with ĝ(w) = (1/m) Σ_j x_j (x_jᵀ w − y_j); ``m = inf`` is the exact
  gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from maml_theory.numerics import validation as v


class DegenerateInstance(ValueError):
    """The instance has no unique minimiser or a zero excess, so the gain is undefined."""


@dataclass(frozen=True, eq=False)
class TaskType:
    """One task type: probability ``prob``, data covariance Σ (``cov``), optimum mean ``center`` and
    covariance V (``opt_cov``)."""

    prob: float
    cov: np.ndarray
    center: np.ndarray
    opt_cov: np.ndarray


@dataclass(frozen=True, eq=False)
class Mixture:
    """A finite mixture of task types (spec L §1, general form).

    ``m`` is the adaptation batch size at test time, ``m_train`` the one MAML is trained with (``None``: = m);
    ``alpha_train`` the step size MAML is trained with (``None``: = alpha, see :attr:`step_train`).
    """

    types: tuple[TaskType, ...]
    alpha: float
    sigma: float = 0.0
    m: float = math.inf
    m_train: float | None = None
    alpha_train: float | None = None

    def __post_init__(self) -> None:
        if not self.types:
            raise v.ParameterError("types", "a non-empty sequence of task types", self.types)
        d = np.asarray(self.types[0].center).shape[0] if np.ndim(self.types[0].center) == 1 else 0
        if d < 1:
            raise v.ParameterError("center", "a vector of length d >= 1", self.types[0].center)
        checked = []
        for t in self.types:
            checked.append(
                TaskType(
                    prob=v.real("prob", t.prob, low=0.0, high=1.0, allowed="in [0, 1]"),
                    cov=v.spd("cov", t.cov, d),
                    center=v.matrix("center", t.center, (d,), allowed=f"a finite vector of length {d}"),
                    opt_cov=v.spd("opt_cov", t.opt_cov, d, semi=True),
                )
            )
        total = sum(t.prob for t in checked)
        if abs(total - 1.0) > 1e-9:
            raise v.ParameterError("prob", "probabilities summing to 1", total)
        object.__setattr__(self, "types", tuple(checked))
        object.__setattr__(self, "alpha", v.real("alpha", self.alpha, low=0.0, low_open=True, allowed="> 0"))
        object.__setattr__(self, "sigma", v.real("sigma", self.sigma, low=0.0, allowed=">= 0"))
        object.__setattr__(self, "m", v.sample_count("m", self.m))
        m_train = self.m if self.m_train is None else v.sample_count("m_train", self.m_train)
        object.__setattr__(self, "m_train", m_train)
        if self.alpha_train is not None:
            object.__setattr__(self, "alpha_train", training_step(self.alpha, self.alpha_train))

    @property
    def d(self) -> int:
        return int(self.types[0].center.shape[0])

    @property
    def step_train(self) -> float:
        """MAML's training step size: ``alpha_train``, or α when it was not given."""
        return training_step(self.alpha, self.alpha_train)

    def with_m(self, m: float) -> Mixture:
        """The same mixture adapted with batch size ``m`` (the training batch size and step are kept)."""
        return Mixture(self.types, self.alpha, self.sigma, m, self.m_train, self.alpha_train)


def training_step(alpha: float, alpha_train: float | None) -> float:
    """MAML's training step size: ``alpha`` when not given, else a finite real (negative allowed)."""
    if alpha_train is None:
        return alpha
    return v.real("alpha_train", alpha_train, allowed="a finite real number (negative allowed)")


@dataclass(frozen=True)
class EasyHard:
    """The canonical two-type isotropic instance of spec L.

    Σ_k = ρ_k I_d, w*_i ~ (w_k, ν_k I_d), R = ‖w_H − w_E‖.

    The defaults put tightly packed hard optima far from the easy ones, where MAML's gain over NAL is visible.
    Only R matters (rotation invariance), so :meth:`mixture` places w_E = 0 and w_H = R e_1. MAML is trained
    with one step of size ``alpha_train`` (default α) on ``m_train`` samples (default m); both solutions are
    tested after ``inner_steps`` steps of size α, each on a fresh batch of m samples.
    """

    d: int = 5
    alpha: float = 1.0
    p_hard: float = 0.8
    rho_hard: float = 0.1
    rho_easy: float = 1.0
    nu_hard: float = 0.001
    nu_easy: float = 0.1
    sigma: float = 0.1
    R: float = 5.0
    m: float = 100
    m_train: float | None = field(default=None)
    alpha_train: float | None = field(default=None)
    inner_steps: int = 1

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "d", v.integer("d", self.d, low=1))
        s(self, "alpha", v.real("alpha", self.alpha, low=0.0, low_open=True, allowed="> 0"))
        s(self, "p_hard", v.real("p_hard", self.p_hard, low=0.0, high=1.0, allowed="in [0, 1]"))
        for name in ("rho_hard", "rho_easy"):
            s(self, name, v.real(name, getattr(self, name), low=0.0, low_open=True, allowed="> 0"))
        for name in ("nu_hard", "nu_easy", "sigma", "R"):
            s(self, name, v.real(name, getattr(self, name), low=0.0, allowed=">= 0"))
        s(self, "m", v.sample_count("m", self.m))
        m_train = self.m if self.m_train is None else v.sample_count("m_train", self.m_train)
        s(self, "m_train", m_train)
        # Kept None when not given, so that an instance replaced with another α is still trained as tested.
        s(self, "inner_steps", v.integer("inner_steps", self.inner_steps, low=1))
        if self.alpha_train is not None:
            s(self, "alpha_train", training_step(self.alpha, self.alpha_train))
            self._refuse_singular()

    @property
    def step_train(self) -> float:
        """MAML's training step size: ``alpha_train``, or α when it was not given."""
        return training_step(self.alpha, self.alpha_train)

    def _refuse_singular(self) -> None:
        """:class:`ParameterError` at a given α_train where MAML's training objective is singular: its Hessian
        Σ_k p_k ρ_k γ_k I vanishes iff every type present has γ_k = 0, which for a real α_train needs
        m_train = ∞ and α_train = 1/ρ_k (derivation L.alpha_train.singular: the factor ρ_k(1 − α_train ρ_k)²
        of Q_k(∞) vanishes)."""
        if not math.isinf(self.m_train):
            return
        present = [
            (k, rho)
            for k, p, rho in (("H", self.p_hard, self.rho_hard), ("E", self.p_easy, self.rho_easy))
            if p > 0
        ]
        if all(1.0 - self.alpha_train * rho == 0.0 for _, rho in present):
            names = " and ".join(f"ρ_{k}(1 − α_train ρ_{k})²" for k, _ in present)
            raise v.ParameterError(
                "alpha_train",
                f"not 1/ρ of every task type present with --m-train inf: there {names} = 0, so MAML's "
                "training objective Σ_k p_k Q_k is singular",
                self.alpha_train,
            )

    @property
    def p_easy(self) -> float:
        return 1.0 - self.p_hard

    def mixture(self) -> Mixture:
        eye = np.eye(self.d)
        w_hard = np.zeros(self.d)
        w_hard[0] = self.R
        hard = TaskType(self.p_hard, self.rho_hard * eye, w_hard, self.nu_hard * eye)
        easy = TaskType(self.p_easy, self.rho_easy * eye, np.zeros(self.d), self.nu_easy * eye)
        return Mixture((hard, easy), self.alpha, self.sigma, self.m, self.m_train, self.alpha_train)
