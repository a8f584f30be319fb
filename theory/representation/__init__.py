"""Spec R (multi-task linear representation learning): the outer-loop updates of ANIL, FO-ANIL, MAML, FO-MAML
and NAL, derived by matrix calculus, and the structural facts behind the paper's proof."""
