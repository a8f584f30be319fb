"""Spec R's derivations: every claim is registered (each is proved in tests/test_verify.py), the checks can
fail, and the compiled updates equal spec R §3's general-(B, w) formulas, typed here independently of the
derivation."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import maml_theory.numerics.representation.baseline_checks  # registers R.route.mom
import maml_theory.numerics.representation.checks  # noqa: F401  (registers the route claims too)
from maml_theory.numerics.representation import closed_form
from maml_theory.theory import matrix_algebra as ma
from maml_theory.theory.claims import registered
from maml_theory.theory.representation import claims as R_claims
from maml_theory.theory.representation import model as R
from maml_theory.theory.representation import structure, updates

CLAIMS = registered("R.")


def test_every_spec_r_claim_is_registered_once():
    ids = [c.id for c in CLAIMS]
    assert len(ids) == len(set(ids)) >= 18
    for method in R.METHODS:
        assert f"R.update.{method}.w0" in ids and f"R.perp.{method}" in ids


NUMERIC = {"R.contraction", "R.rate"}  # checked on simulator output below
ROUTES = {f"R.route.{m}" for m in ("anil", "fo-anil", "maml", "fo-maml", "nal")}  # simulator = oracle
ROUTES |= {"R.route.mom"}  # the method of moments' derived expectation = its Monte Carlo
# §5's theorem and §8's floor bound, checked by verify.
RECONSTRUCTED = {
    f"R.{c}.{m}" for c in ("theorem", "floor.bound") for m in ("anil", "fo-anil", "maml", "fo-maml")
}


def test_claims_without_a_proof_are_the_numeric_ones():
    assert {c.id for c in CLAIMS if c.prove is None} == NUMERIC | RECONSTRUCTED | ROUTES


def test_a_wrong_statement_is_not_proved():
    b_stated, _ = R_claims.STATED_W0["fo-anil"]
    derived = updates.at_zero_head("fo-anil")
    assert R_claims.same(derived["B⁺"], b_stated)
    wrong = b_stated + R.beta * R.alpha**2 * R.B * R.B.T * R.B  # an extra term
    assert not R_claims.same(derived["B⁺"], wrong)
    # Exact ANIL's B⁺ is not FO-ANIL's: the MBΔ term matters.
    assert not R_claims.same(updates.at_zero_head("anil")["B⁺"], b_stated)
    # FO-MAML's C is not FO-ANIL's at general w.
    assert not R_claims.same(structure.perpendicular("fo-maml")["C"], structure.perpendicular("fo-anil")["C"])


def test_orthonormality_rewrite_is_sound():
    # B_*ᵀB_* = I and B_⊥ᵀB_* = 0 only: B_*B_*ᵀ is a projector, not the identity.
    assert ma.equal(structure.orthonormal(R.B_star.T * R.B_star * R.B), R.B)
    assert ma.is_zero(structure.orthonormal(R.B_perp.T * R.B_star * R.w))
    assert not ma.equal(structure.orthonormal(R.B_star * R.B_star.T * R.B), R.B)


def spec_update(method, B, w, Bs, heads, alpha):
    """Spec R §3's general-(B, w) population updates, one task at a time (the check, not the derivation)."""
    d, k = B.shape
    g_b, g_w = np.zeros((d, k)), np.zeros(k)
    for th in heads:
        r0 = B @ w - Bs @ th
        w_i = w - alpha * B.T @ r0
        r_i = B @ w_i - Bs @ th
        g_i = B.T @ r_i
        if method == "nal":
            gb, gw = np.outer(r0, w), B.T @ r0
        elif method == "fo-anil":
            gb, gw = np.outer(r_i, w_i), g_i
        elif method == "anil":
            delta = np.eye(k) - alpha * B.T @ B
            gb = np.outer(r_i, w_i) - alpha * (np.outer(r0, g_i) + B @ np.outer(g_i, w))
            gw = delta @ g_i
        else:
            B_i = B - alpha * np.outer(r0, w)
            rt = B_i @ w_i - Bs @ th
            if method == "fo-maml":
                gb, gw = np.outer(rt, w_i), B_i.T @ rt
            else:
                U, u = np.outer(rt, w_i), B_i.T @ rt
                gb = U - alpha * (np.outer(U @ w + B @ u, w) + np.outer(r0, u))
                gw = u - alpha * (U.T @ r0 + B.T @ (U @ w + B @ u))
        g_b += gb / len(heads)
        g_w += gw / len(heads)
    return g_b, g_w


@pytest.mark.parametrize("method", R.METHODS)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(2, 7), n=st.integers(1, 6), alpha=st.floats(0.01, 1.0))
def test_derived_update_equals_spec_formula(method, seed, d, n, alpha):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, d + 1))
    Bs = np.linalg.qr(rng.standard_normal((d, k)))[0]
    B, w, heads = rng.standard_normal((d, k)), rng.standard_normal(k), rng.standard_normal((n, k))
    got = closed_form.update(method, B, w, Bs, heads, alpha)
    want = spec_update(method, B, w, Bs, heads, alpha)
    for g, s in zip(got, want, strict=True):
        np.testing.assert_allclose(g, s, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(s).max()))


@given(
    seed=st.integers(0, 2**32 - 1),
    d=st.integers(2, 8),
    n=st.integers(1, 8),
    alpha=st.floats(0.05, 1.0),
    c=st.floats(0.01, 1.0),
)
def test_contraction_claim_on_simulator_steps(seed, d, n, alpha, c):
    """R.contraction on the simulator's FO-ANIL step at w = 0, β set so that βα²λ_max(AᵀΛA) = c ≤ 1."""
    from maml_theory.numerics.representation.simulate import step

    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, d))  # k < d, so the wrong subspace exists
    frame = np.linalg.qr(rng.standard_normal((d, d)))[0]
    B_star, B_perp = frame[:, :k], frame[:, k:]
    B = rng.standard_normal((d, k)) / np.sqrt(alpha * d)
    heads = rng.standard_normal((n, k))
    A, E = B_star.T @ B, B_perp.T @ B
    eig = np.linalg.eigvalsh(A.T @ (heads.T @ heads / n) @ A)
    beta = c / (alpha**2 * eig[-1])
    B_next, _ = step("fo-anil", B, np.zeros(k), B_star, heads, alpha, beta)
    values = {
        "E_norm": np.linalg.norm(E, 2),
        "E_next_norm": np.linalg.norm(B_perp.T @ B_next, 2),
        "lambda_min": eig[0],
        "lambda_max": eig[-1],
        "alpha": alpha,
        "beta": beta,
    }
    claim = next(x for x in registered("R.contraction"))
    assert claim.admissible(values)
    assert claim.evaluate(values).holds


def test_rate_claim_on_a_long_run():
    """R.rate on the simulator: a fixed task set, the fitted rate against 1 − βαλ_min(Λ) (the claim's rtol,
    1e-9; here they agree to 6e-13)."""
    from maml_theory.numerics.representation.instances import Instance, draw_problem
    from maml_theory.reports.dynamics_command import dynamics as run

    inst = Instance(fixed_tasks=True, T=400)
    result = run("anil", inst, seed=3)
    heads = draw_problem(inst, np.random.default_rng(3).spawn(1)[0]).heads
    values = {
        "rate": result["rate"],
        "lambda_min": np.linalg.eigvalsh(heads.T @ heads / inst.n)[0],
        "alpha": inst.alpha,
        "beta": inst.beta,
    }
    assert next(x for x in registered("R.rate")).evaluate(values).holds
    # and the tolerance has teeth: a rate off by 1e-8 is rejected
    values["rate"] += 1e-8
    assert not next(x for x in registered("R.rate")).evaluate(values).holds


def test_rate_departs_for_exact_maml_off_sign_symmetric_sets():
    """The finding behind R.rate's scope (README, Findings): on a fixed set with θ̄ ≠ 0 exact MAML's head
    leaves 0 and its per-step factor at dist = 1e-9 misses 1 − βαλ_min(Λ) by 1.2e-4 (relative), while
    exact ANIL from the same start meets it to round-off and exact MAML on the sign-symmetric set does too."""
    from maml_theory.numerics.representation.checks import RATE, rate_of

    (claim,) = registered("R.rate")
    drawn = {"method": 2, "k": 2, "d_extra": 1, "n_extra": 1, "alpha": 0.35, "h": 0.5, "seed": 144394434}
    params = RATE.complete(drawn)

    def off(method: str, sign_symmetric: bool) -> float:
        values = {**params, **rate_of(method, params, sign_symmetric=sign_symmetric)}
        return claim.evaluate(values).slack

    assert off("maml", False) > 1e-4
    assert off("anil", False) < 1e-12
    assert off("maml", True) < 1e-12
