"""Test-wide settings."""

from __future__ import annotations

import os

from hypothesis import settings

# CI must pass or fail the same way every run: property tests draw their examples
# from a fixed seed there. CCBOX_HYPOTHESIS=explore draws new ones (use it locally
# to hunt for bugs; a failure it finds is added as an explicit example).
# Speed belongs in benchmarks: no per-example deadline, which a loaded machine would break.
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("explore", print_blob=True)
settings.load_profile("explore" if os.environ.get("CCBOX_HYPOTHESIS") == "explore" else "ci")
