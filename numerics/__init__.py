"""Numerics: instances, simulators, Monte Carlo and the verification glue (numpy/scipy).

The simulators, samplers, Monte Carlo and autograd oracles import nothing from :mod:`maml_theory.theory` and
no closed form: they reach their numbers from the model definitions alone, so that comparing them with the
sympy closed forms checks something (tests/test_layers.py checks it). The closed forms (``closed_form``), the
claims' checks (``checks``, ``search``) and the verifier (``verification``) are the verification code that
joins the two.
"""
