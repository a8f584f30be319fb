"""Theory: sympy, with numpy only to evaluate a claim at numbers. Models, derivations (with their recorded
steps), the Gaussian moment engine, claims.

This package imports no other project package (tests/test_layers.py checks it).
"""
