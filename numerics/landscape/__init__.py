"""Spec L (task landscape): instances, Monte Carlo of the adapted excess risk, sampled minimisers."""
