"""Test configuration: hypothesis profiles, chosen by the HYPOTHESIS_PROFILE environment variable.

- ``dev`` (default): few examples, randomised, for quick local runs;
- ``ci``: derandomized (the same examples every run) and more of them; the README's test command selects it.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
