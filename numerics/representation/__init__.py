"""Spec R numerics: instances, the distance to the ground truth, simulators and the autograd oracle."""
