"""Theory: sympy only. Models, derivations (with their recorded steps), the Gaussian moment engine, claims.

This package imports no other project package.
"""
