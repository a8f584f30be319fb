"""A researcher's own claim, checked with ``maml-theory verify --load tests/user_claims/gain_conjecture.py``.

Conjecture: on spec L's easy/hard mixtures, MAML's gain over NAL is at most 1 + R²/(dν_H), the separation of
the centres measured in units of the hard optima's spread (the value G takes when one step solves the easy
tasks, spec L §3.6f, is below it).
"""

import sympy as sp

from maml_theory.numerics.landscape.checks import EASY_HARD, gain_observables
from maml_theory.numerics.verification.checks import claim
from maml_theory.theory.claims import Claim, Provenance

G, R, d, nu_H = sp.symbols("G R d nu_H", positive=True)

claim(
    Claim(
        id="U.gain.separation_bound",
        title="The gain is bounded by the separation over the hard spread",
        source="a conjecture (README example)",
        provenance=Provenance.ABSTRACT,
        note="two task types, MAML trained as tested",
        conclusion=sp.Le(G, 1 + R**2 / (d * nu_H)),
    ),
    space=EASY_HARD,
    observe=gain_observables,
)
