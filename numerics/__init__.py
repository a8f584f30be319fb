"""Numerics: instances, simulators, Monte Carlo and the verification glue (numpy/scipy).

The simulators never import :mod:`theory`: they reach their numbers from the model definitions alone, so that
comparing them with the sympy closed forms checks something.
"""
