"""Run profiles: how big and how many, for the theorem suite.

A profile is chosen with ``--ncverify-profile`` (the pytest plugin stores the
name in the environment variable ``NCVERIFY_PROFILE`` so that pytest-xdist
workers and module-level ``@settings`` see the same value) and read with
:func:`current_profile`. This module imports nothing heavy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import InvalidInput

__all__ = [
    "PROFILES",
    "Profile",
    "current_profile",
    "current_seed",
    "get_profile",
    "hypothesis_settings",
]

PROFILE_ENV = "NCVERIFY_PROFILE"
SEED_ENV = "NCVERIFY_SEED"
DEFAULT_SEED = 20250124


@dataclass(frozen=True)
class Profile:
    """Sizes and counts for one kind of run.

    ``max_examples``: hypothesis examples per deterministic claim.
    ``training_examples``: hypothesis-generated training runs per dynamic theorem.
    ``max_width`` / ``max_samples``: upper bounds for generated networks and data.
    ``steps``: full-batch gradient-descent steps of a training run.
    ``device``: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
    ``dtype``: dtype of training runs and theorem checks.
    ``nc1_tolerance``: largest NC1 (trace ratio) of the penultimate layer a trained network
    satisfying JSWM's assumptions may show (Theorem 4.4's check, ``docs/training.md``).
    """

    name: str
    max_examples: int
    training_examples: int
    max_width: int
    max_samples: int
    steps: int
    device: str = "auto"
    dtype: str = "float64"
    nc1_tolerance: float = 0.1

    def resolve_device(self) -> str:
        """The torch device string this profile runs on."""
        if self.device != "auto":
            return self.device
        import torch  # deferred: heavy

        return "cuda" if torch.cuda.is_available() else "cpu"


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        "ci",
        max_examples=300,
        training_examples=3,
        max_width=96,
        max_samples=48,
        steps=8000,
        device="cpu",
    ),
    "thorough": Profile(
        "thorough",
        max_examples=2000,
        training_examples=20,
        max_width=256,
        max_samples=128,
        steps=30000,
        device="auto",
    ),
    "gpu": Profile(
        "gpu",
        max_examples=2000,
        training_examples=20,
        max_width=2048,
        max_samples=1024,
        steps=50000,
        device="cuda",
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; raises :class:`InvalidInput` listing the valid names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise InvalidInput(
            f"unknown ncverify profile {name!r}; choose one of {', '.join(sorted(PROFILES))}"
        ) from None


def current_profile() -> Profile:
    """The profile selected for this process (``$NCVERIFY_PROFILE``, default ``ci``)."""
    return get_profile(os.environ.get(PROFILE_ENV, "ci"))


def current_seed() -> int:
    """The base seed selected for this process (``$NCVERIFY_SEED``, default 20250124)."""
    raw = os.environ.get(SEED_ENV, str(DEFAULT_SEED))
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{SEED_ENV}={raw!r} is not an integer seed") from None


def hypothesis_settings(kind: str = "deterministic", **overrides):
    """``hypothesis.settings`` for a theorem test under the current profile.

    ``kind="deterministic"`` uses ``max_examples``; ``kind="training"`` uses
    ``training_examples`` and no deadline. Generation is derandomised and the
    example database disabled, so serial and xdist runs see the same examples.
    """
    from hypothesis import HealthCheck, settings

    profile = current_profile()
    if kind not in ("deterministic", "training"):
        raise InvalidInput(f"kind={kind!r}; expected 'deterministic' or 'training'")
    n = profile.max_examples if kind == "deterministic" else profile.training_examples
    base = dict(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    base.update(overrides)
    return settings(**base)
