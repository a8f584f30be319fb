"""A meta-learning method of the family as a value: which blocks adapt, first or second order, inner steps.

A :class:`Method` says what the inner loop does and how the meta-gradient treats it; it carries no
mathematics and no step size (α and β belong to the instance). Per task, with parameters (B, w) and an inner
loss L̂_a, the inner loop takes s steps of size α on the adapted blocks:
  (B_{j+1}, w_{j+1}) = (B_j, w_j) − α(∇_B L̂_a, ∇_w L̂_a)(B_j, w_j),  j = 0, …, s − 1,
where ``adapt == "head"`` leaves B_j = B (only w moves) and ``adapt == "both"`` moves both. The task's
meta-loss is the outer loss at (B_s, w_s). An exact method differentiates it with respect to (B, w) through
the s steps (second order); a first-order one takes the outer gradient at (B_s, w_s) and applies it to (B, w)
as if the inner steps did not depend on them. ``adapt == "none"`` with s = 0 is average-loss minimisation
(NAL): the meta-loss is the outer loss at (B, w) itself.

This module imports only the standard library, so that every route (the simulator and the oracle
included, which may use nothing of the theory) can take a Method.
"""

from __future__ import annotations

from dataclasses import dataclass

ADAPT = ("head", "both", "none")
"""Which blocks the inner loop adapts: the head w only (ANIL), B and w (MAML), nothing (NAL)."""


class MethodError(ValueError):
    """A field of a :class:`Method` outside its allowed range: ``name`` the field, ``allowed`` its range,
    ``got`` the value (the numerics turn it into their ParameterError with the same three parts)."""

    def __init__(self, name: str, allowed: str, got: object) -> None:
        self.name = name
        self.allowed = allowed
        self.got = got
        super().__init__(f"{name} must be {allowed} (got {got!r})")


@dataclass(frozen=True)
class Method:
    """One member of the family (module docstring): ``adapt`` in :data:`ADAPT`, ``first_order``, and
    ``inner_steps`` s ≥ 0, with s = 0 exactly when nothing adapts (then ``first_order`` is False: there is no
    inner step to treat either way)."""

    adapt: str
    first_order: bool
    inner_steps: int

    def __post_init__(self) -> None:
        if self.adapt not in ADAPT:
            raise MethodError("adapt", f"one of {ADAPT}", self.adapt)
        if not isinstance(self.first_order, bool):
            raise MethodError("first_order", "True or False", self.first_order)
        s = self.inner_steps
        # bool is an int to Python, but True inner steps is a mistake, not 1.
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise MethodError("inner_steps", "an integer >= 0", s)
        if self.adapt == "none" and (s != 0 or self.first_order):
            raise MethodError(
                "inner_steps", "0, with first_order False, when nothing adapts (NAL has no inner step)", s
            )
        if self.adapt != "none" and s == 0:
            raise MethodError("inner_steps", f"an integer >= 1 when adapt is {self.adapt!r} (0 is NAL)", s)

    @property
    def family(self) -> str:
        """The preset with the same adapted blocks and order (and s = 1, or s = 0 for NAL): its name."""
        for name, preset in PRESETS.items():
            if (preset.adapt, preset.first_order) == (self.adapt, self.first_order):
                return name
        raise AssertionError(self)  # every (adapt, first_order) allowed above has a preset

    @property
    def name(self) -> str:
        """The preset's name for a preset, else the family's name with the inner steps: ``anil[s=2]``."""
        family = self.family
        return family if PRESETS[family] == self else f"{family}[s={self.inner_steps}]"

    def with_inner_steps(self, inner_steps: int) -> Method:
        """The same blocks and order with ``inner_steps`` steps (validated as in the constructor)."""
        return Method(self.adapt, self.first_order, inner_steps)

    @staticmethod
    def parse(text: str) -> Method:
        """The preset named ``text`` (a key of :data:`PRESETS`), else :class:`MethodError` on ``method``."""
        if not isinstance(text, str) or text not in PRESETS:
            raise MethodError("method", f"one of {tuple(PRESETS)}", text)
        return PRESETS[text]


PRESETS = {
    "anil": Method("head", False, 1),
    "fo-anil": Method("head", True, 1),
    "maml": Method("both", False, 1),
    "fo-maml": Method("both", True, 1),
    "nal": Method("none", False, 0),
}
"""The five methods of spec R as members of the family (their names are the command line's)."""
