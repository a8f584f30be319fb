"""Symbolic proofs, cached on disk while the theory they come from does not change.

Some proofs take a minute of sympy (the expected finite-sample updates). Their outcome depends only on the
code of ``theory/`` and on sympy, so it is stored under a key made of both: the SHA-256 of every
``theory/**/*.py`` file and sympy's version. Any edit to the theory, or another sympy, makes a new key, and
the proofs run again. Only the project's own claims are cached (a claim whose ``prove`` lives outside
``theory`` is always run).

The cache lives in ``$MAML_THEORY_CACHE`` or, failing that, ``$XDG_CACHE_HOME/maml-theory`` (``~/.cache``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sympy as sp

from maml_theory import theory
from maml_theory.theory.claims import Claim, Proof


@dataclass(frozen=True)
class Outcome:
    """A proof's verdict as the verifier reports it; ``cached``: read from disk rather than run now."""

    proved: bool
    method: str
    residual: str
    cached: bool


def cache_dir() -> Path:
    root = os.environ.get("MAML_THEORY_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "maml-theory"


@cache
def theory_key() -> str:
    """SHA-256 of the theory's sources and sympy's version."""
    h = hashlib.sha256(sp.__version__.encode())
    root = Path(theory.__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _cacheable(claim: Claim) -> bool:
    return claim.prove is not None and getattr(claim.prove, "__module__", "").startswith(
        "maml_theory.theory."
    )


def _path() -> Path:
    return cache_dir() / f"proofs-{theory_key()}.json"


def cached(claim: Claim) -> Outcome | None:
    """The outcome stored for ``claim`` under the current theory key, without running anything; None when
    there is none (never proved with this theory and sympy, or not cacheable)."""
    path = _path()
    if not _cacheable(claim) or not path.exists():
        return None
    entry = json.loads(path.read_text()).get(claim.id)
    return (
        None if entry is None else Outcome(entry["proved"], entry["method"], entry["residual"], cached=True)
    )


def prove(claim: Claim, *, use_cache: bool = True) -> Outcome:
    """Run ``claim.prove`` (or read its outcome from the cache). The claim must have a ``prove``."""
    assert claim.prove is not None
    if use_cache and (outcome := cached(claim)) is not None:
        return outcome
    proof: Proof = claim.prove()
    outcome = Outcome(bool(proof.proved), proof.method, str(proof.residual), cached=False)
    if use_cache and _cacheable(claim):
        _save(_path(), claim.id, outcome)
    return outcome


def _save(path: Path, claim_id: str, outcome: Outcome) -> None:
    """Add one entry; written to a temporary file and renamed, so a crash never leaves half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = json.loads(path.read_text()) if path.exists() else {}
        entries[claim_id] = {"proved": outcome.proved, "method": outcome.method, "residual": outcome.residual}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs the time of proving again
