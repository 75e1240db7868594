"""Hypothesis strategies for networks, training data and training hyper-parameters.

Re-exported by :mod:`ncverify.strategies`. Keyword-only arguments; sizes are an ``int`` or a
hypothesis strategy of ints. Invalid arguments raise ``hypothesis.errors.InvalidArgument``
when the strategy is built (fixed values) or when a strategy-valued size draws a bad value.
Every generated value records the seed it is rebuilt from (tensors come from a seeded CPU
``torch.Generator``), so a failing example can be reproduced from its printed repr.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..nets import ARCHITECTURE_ASSUMPTIONS
from ._data import _drawn, _size

__all__ = [
    "MAX_STABLE_LEARNING_RATE",
    "VIOLATIONS",
    "ArchitectureSpec",
    "Hyperparameters",
    "architectures",
    "digits_subsets",
    "gaussian_clusters",
    "training_hyperparameters",
]

_SEEDS = st.integers(min_value=0, max_value=2**32 - 1)

#: ``violation=`` name -> the key of :func:`ncverify.architecture_assumptions` it violates
VIOLATIONS: dict[str, str] = {
    "narrow_first_layer": "wide_first_layer",
    "non_pyramidal": "non_increasing_widths",
    "relu": "activation_slope",
    "single_linear_layer": "deep_linear_head",
}
assert set(VIOLATIONS.values()) <= set(ARCHITECTURE_ASSUMPTIONS)


def _fixed_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgument(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidArgument(f"{name} must be a finite number, got {value!r}")
    return float(value)


# ---------------------------------------------------------------- architectures


@dataclass(frozen=True)
class ArchitectureSpec:
    """A JSWM-family network (:class:`ncverify.PyramidalMLP`) described by plain values.

    ``widths = (n_1, ..., n_{L1})``, ``head_widths = (n_{L1+1}, ..., n_{L-1})`` (the head's
    hidden widths; ``L2 = len(head_widths) + 1``), ``activation`` a name of
    :data:`ncverify.models.ACTIVATIONS` with ``gamma`` (``"gamma_tanh"`` only, else ``None``).
    ``num_samples`` is the ``N`` the assumptions were judged for; ``violations`` lists the
    :func:`ncverify.architecture_assumptions` keys this spec violates (empty: all hold);
    ``seed`` is the default initialisation seed of :meth:`build`.
    """

    input_dim: int
    widths: tuple[int, ...]
    head_widths: tuple[int, ...]
    num_classes: int
    activation: str
    gamma: float | None
    num_samples: int
    violations: tuple[str, ...] = ()
    seed: int = 0

    @property
    def num_head_layers(self) -> int:
        return len(self.head_widths) + 1

    @property
    def num_nonlinear_layers(self) -> int:
        return len(self.widths)

    @property
    def all_widths(self) -> tuple[int, ...]:
        """``(n_1, ..., n_L)`` with ``n_L = K``."""
        return (*self.widths, *self.head_widths, self.num_classes)

    def build(self, seed: int | None = None, *, dtype=None, device=None):
        """The :class:`~ncverify.PyramidalMLP` with weights drawn from ``seed`` (default
        ``self.seed``) on a CPU generator, in ``dtype`` (default float64) on ``device``."""
        import torch

        from ..nets import PyramidalMLP, make_activation

        return PyramidalMLP(
            self.input_dim,
            self.widths,
            self.head_widths,
            self.num_classes,
            make_activation(self.activation, self.gamma),
            seed=self.seed if seed is None else seed,
            dtype=torch.float64 if dtype is None else dtype,
            device=device,
        )


def _non_increasing(draw, length: int, lo: int, hi: int) -> list[int]:
    return sorted(
        draw(st.lists(st.integers(lo, hi), min_size=length, max_size=length)), reverse=True
    )


def architectures(
    *,
    num_samples,
    input_dim,
    num_classes,
    max_width=None,
    violation: str | None = None,
    max_nonlinear_layers: int = 3,
    max_head_layers: int = 3,
):
    """Strategy for :class:`ArchitectureSpec` of the JSWM family for ``N`` samples.

    With ``violation=None`` every JSWM architecture assumption holds: ``n_1 ≥ N`` (4.1),
    ``n_2 ≥ … ≥ n_L = K`` (4.1), ``σ = γx + (1−γ)tanh x`` with ``γ ∈ [0.1, 0.9]`` (4.2),
    ``L2 ≥ 2``. With ``violation`` one of :data:`VIOLATIONS` exactly that one fails:
    ``"narrow_first_layer"`` (``n_1 < N``), ``"non_pyramidal"`` (some ``n_{ℓ+1} > n_ℓ``,
    ``ℓ ≥ 2``), ``"relu"`` (γ = 0), ``"single_linear_layer"`` (``L2 = 1``).
    Hidden widths lie in ``[K, max_width]`` (``n_1`` in ``[max(N, K), max_width]``);
    ``max_width`` defaults to ``max(64, N)``. ``L1 ∈ [1, max_nonlinear_layers]`` (``≥ 2`` for
    ``"non_pyramidal"``), ``L2 ∈ [2, max_head_layers]``.
    """
    n_st = _size(num_samples, "num_samples", 2)
    d_st = _size(input_dim, "input_dim", 1)
    k_st = _size(num_classes, "num_classes", 2)
    if max_width is not None:
        _fixed_int(max_width, "max_width", 2)
    if violation is not None and violation not in VIOLATIONS:
        raise InvalidArgument(
            f"violation must be None or one of {', '.join(sorted(VIOLATIONS))}; got {violation!r}"
        )
    max_l1 = _fixed_int(max_nonlinear_layers, "max_nonlinear_layers", 1)
    max_l2 = _fixed_int(max_head_layers, "max_head_layers", 1)
    if violation != "single_linear_layer" and max_l2 < 2:
        raise InvalidArgument(
            f"max_head_layers={max_l2} allows only L2 = 1, but JSWM needs L2 >= 2; use "
            "violation='single_linear_layer' for a one-layer head"
        )
    if violation == "non_pyramidal" and max_l1 < 2:
        raise InvalidArgument(
            f"violation='non_pyramidal' needs max_nonlinear_layers >= 2 (an increase after "
            f"the first layer), got {max_l1}"
        )

    def _check_sizes(N: int, K: int, W: int) -> None:
        if N < K:
            raise InvalidArgument(
                f"num_samples={N} < num_classes={K}: a balanced data set has N >= K"
            )
        need = K + 1 if violation == "non_pyramidal" else K
        if violation != "narrow_first_layer":
            need = max(need, N)
        if W < need:
            rule = "n_1 >= N" if violation != "narrow_first_layer" else "widths >= K"
            if violation == "non_pyramidal":
                rule += " and an increasing pair n_l < n_(l+1) <= max_width with n_l >= K"
            raise InvalidArgument(
                f"max_width={W} is too small for num_samples={N}, num_classes={K}: needs "
                f"max_width >= {need} ({rule})"
            )

    if not any(isinstance(v, st.SearchStrategy) for v in (num_samples, num_classes)):
        _check_sizes(
            num_samples, num_classes, max_width if max_width is not None else max(64, num_samples)
        )

    @st.composite
    def _arch(draw):
        N = _drawn(draw, n_st, "num_samples", 2)
        d = _drawn(draw, d_st, "input_dim", 1)
        K = _drawn(draw, k_st, "num_classes", 2)
        W = max_width if max_width is not None else max(64, N)
        _check_sizes(N, K, W)
        L1 = draw(st.integers(2 if violation == "non_pyramidal" else 1, max_l1))
        L2 = 1 if violation == "single_linear_layer" else draw(st.integers(2, max_l2))
        if violation == "narrow_first_layer":
            n1 = draw(st.integers(min(K, N - 1, W), min(N - 1, W)))
        else:
            n1 = draw(st.integers(max(N, K), W))
        rest = _non_increasing(draw, L1 + L2 - 2, K, W)  # n_2 .. n_{L-1}
        if violation == "non_pyramidal":
            # L1 >= 2 and L2 >= 2, so n_2 .. n_{L-1} has at least two entries
            j = draw(st.integers(0, len(rest) - 2))
            rest[j] = low = draw(st.integers(K, W - 1))
            rest[j + 1] = draw(st.integers(low + 1, W))
        widths, head = (n1, *rest[: L1 - 1]), tuple(rest[L1 - 1 :])
        if violation == "relu":
            activation, gamma = "relu", None
        else:
            activation = "gamma_tanh"
            gamma = draw(st.integers(1, 9)) / 10
        return ArchitectureSpec(
            input_dim=d,
            widths=widths,
            head_widths=head,
            num_classes=K,
            activation=activation,
            gamma=gamma,
            num_samples=N,
            violations=() if violation is None else (VIOLATIONS[violation],),
            seed=draw(_SEEDS),
        )

    return _arch()


# ---------------------------------------------------------------- data


def gaussian_clusters(
    *, num_classes, samples_per_class, input_dim, cluster_std: float = 0.5, center: bool = False
):
    """Strategy for balanced Gaussian-cluster :class:`~ncverify.strategies.Dataset` s.

    Class centres ``c_k ~ N(0, I_d)``, samples ``c_{y_i} + cluster_std·N(0, I_d)``, rows scaled
    to unit norm (spec §5 calibration), ``X`` float64 ``(nK, d)``, ``y`` int64, shuffled;
    rebuilt exactly by :func:`ncverify.data.make_gaussian_clusters` from the drawn seed.
    """
    k_st = _size(num_classes, "num_classes", 2)
    n_st = _size(samples_per_class, "samples_per_class", 1)
    d_st = _size(input_dim, "input_dim", 1)
    cluster_std = _number(cluster_std, "cluster_std")
    if cluster_std < 0:
        raise InvalidArgument(f"cluster_std must be >= 0, got {cluster_std}")
    if not isinstance(center, bool):
        raise InvalidArgument(f"center must be a bool, got {center!r}")

    @st.composite
    def _clusters(draw):
        from ..data import make_gaussian_clusters

        K = _drawn(draw, k_st, "num_classes", 2)
        n = _drawn(draw, n_st, "samples_per_class", 1)
        d = _drawn(draw, d_st, "input_dim", 1)
        return make_gaussian_clusters(
            seed=draw(_SEEDS),
            num_classes=K,
            samples_per_class=n,
            input_dim=d,
            cluster_std=cluster_std,
            center=center,
        )

    return _clusters()


def digits_subsets(*, num_classes, samples_per_class):
    """Strategy for balanced subsets of scikit-learn's 8×8 digits (unit-norm rows, d = 64).

    ``num_classes`` in ``[2, 10]``, ``samples_per_class`` in ``[1, 174]``; which digits and
    which images are drawn from the seed (:func:`ncverify.data.make_digits_subset`).
    """
    k_st = _size(num_classes, "num_classes", 2)
    n_st = _size(samples_per_class, "samples_per_class", 1)
    if isinstance(num_classes, int) and num_classes > 10:
        raise InvalidArgument(f"num_classes={num_classes}: the digits data has only 10 classes")
    if isinstance(samples_per_class, int) and samples_per_class > 174:
        raise InvalidArgument(
            f"samples_per_class={samples_per_class} exceeds 174, the smallest digits class"
        )

    @st.composite
    def _digits(draw):
        from ..data import make_digits_subset

        K = _drawn(draw, k_st, "num_classes", 2)
        n = _drawn(draw, n_st, "samples_per_class", 1)
        if K > 10 or n > 174:
            raise InvalidArgument(
                f"drew num_classes={K}, samples_per_class={n}; digits allows K <= 10, n <= 174"
            )
        return make_digits_subset(seed=draw(_SEEDS), num_classes=K, samples_per_class=n)

    return _digits()


# ---------------------------------------------------------------- hyper-parameters

#: the largest step size of the spec's §5 calibration (unit-norm inputs, float64)
MAX_STABLE_LEARNING_RATE = 0.3


@dataclass(frozen=True)
class Hyperparameters:
    """Full-batch GD with weight decay: ``θ ← θ − η ∇L_λ(θ)`` for ``steps`` steps (spec §1)."""

    weight_decay: float
    learning_rate: float
    steps: int


def training_hyperparameters(
    *,
    min_weight_decay: float = 1e-3,
    max_weight_decay: float = 1e-2,
    min_learning_rate: float = 0.05,
    max_learning_rate: float = MAX_STABLE_LEARNING_RATE,
    min_steps: int = 2000,
    max_steps: int = 10000,
):
    """Strategy for :class:`Hyperparameters` in the stable regime of the spec's §5 table.

    ``λ`` log-uniform in ``[min_weight_decay, max_weight_decay] ⊆ [1e-4, 1e-1]`` and
    ``η`` log-uniform in ``[min_learning_rate, max_learning_rate] ⊆ (0, 0.3]``, both rounded to
    three significant digits; ``steps`` in ``[min_steps, max_steps]`` rounded to hundreds.
    Stability is calibrated for unit-norm inputs and the 1/sqrt(fan_in) initialisation.
    """
    lam_lo = _number(min_weight_decay, "min_weight_decay")
    lam_hi = _number(max_weight_decay, "max_weight_decay")
    eta_lo = _number(min_learning_rate, "min_learning_rate")
    eta_hi = _number(max_learning_rate, "max_learning_rate")
    s_lo = _fixed_int(min_steps, "min_steps", 1)
    s_hi = _fixed_int(max_steps, "max_steps", 1)
    if not 1e-4 <= lam_lo <= lam_hi <= 1e-1:
        raise InvalidArgument(
            f"need 1e-4 <= min_weight_decay <= max_weight_decay <= 0.1, got "
            f"[{lam_lo}, {lam_hi}] (the calibrated range is [1e-3, 1e-2], spec §5)"
        )
    if not 0 < eta_lo <= eta_hi <= MAX_STABLE_LEARNING_RATE:
        raise InvalidArgument(
            f"need 0 < min_learning_rate <= max_learning_rate <= {MAX_STABLE_LEARNING_RATE}, "
            f"got [{eta_lo}, {eta_hi}]; larger steps are outside the stable regime calibrated "
            "in spec §5 (un-normalised or large-step runs diverged)"
        )
    if s_lo > s_hi:
        raise InvalidArgument(f"min_steps={s_lo} > max_steps={s_hi}")

    def _log_uniform(lo: float, hi: float):
        if lo == hi:
            return st.just(lo)
        return st.floats(math.log10(lo), math.log10(hi)).map(
            lambda u: min(max(float(f"{10**u:.3g}"), lo), hi)
        )

    def _steps(s: int) -> int:
        r = round(s, -2)
        return r if s_lo <= r <= s_hi else s

    return st.builds(
        Hyperparameters,
        weight_decay=_log_uniform(lam_lo, lam_hi),
        learning_rate=_log_uniform(eta_lo, eta_hi),
        steps=st.integers(s_lo, s_hi).map(_steps),
    )
