"""ncverify: executable specs and test oracles for neural-collapse theorems.

Heavy dependencies (torch, cvxpy, sympy) are imported lazily: ``import ncverify``
and the pytest plugin load none of them. Public names are listed in ``__all__``
and resolved on first access from the private module that defines them
(``_LAZY`` below maps each name to its module).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

from ._errors import (
    InvalidArchitecture,
    InvalidInput,
    NCVerifyError,
    ProblemTooLarge,
    SolverFailed,
    TrainingDiverged,
)

try:
    __version__ = version("ncverify")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

# name -> private module (relative to this package) that defines it.
# Each subsystem adds its public names here; nothing heavy is imported until used.
_LAZY: dict[str, str] = {
    # evaluation records (pure data)
    "AssumptionOutcome": "._evaluation",
    "AssumptionStatus": "._evaluation",
    "ClaimOutcome": "._evaluation",
    "Evaluation": "._evaluation",
    "Verdict": "._evaluation",
    "decide_verdict": "._evaluation",
    # run profiles (pure data)
    "Profile": "._profiles",
    "PROFILES": "._profiles",
    "get_profile": "._profiles",
    "current_profile": "._profiles",
    "current_seed": "._profiles",
    # run reports (plugin / `ncverify report`)
    "load_report": "._report",
    "evaluations_from_report": "._report",
    # networks: protocol, JSWM family, activations, plug-in loading
    "ArchitectureAssumption": "._arch_assumptions",
    "ArchitectureInfo": "._models",
    "PyramidalMLP": "._models",
    "architecture_assumptions": "._arch_assumptions",
    "check_architecture": "._models",
    "GammaTanh": "._activations",
    "ArchitectureFactory": "._plugins",
    "load_architecture": "._plugins",
    # collapse metrics (torch; spec §2)
    "balancedness": "._metrics",
    "cdnv": "._metrics",
    "class_means": "._metrics",
    "global_mean": "._metrics",
    "interpolation_error": "._metrics",
    "nc1_papyan": "._metrics",
    "nc1_trace_ratio": "._metrics",
    "nc2_etf_distance": "._metrics",
    "nc2_kappa": "._metrics",
    "nc3_cosine": "._metrics",
    "nc3_self_duality": "._metrics",
    "nc4_ncc_agreement": "._metrics",
    "trace_sigma_b": "._metrics",
    "trace_sigma_w": "._metrics",
    "CollapseMetrics": "._collapse",
    "collapse_metrics": "._collapse",
    "StreamingCollapse": "._streaming",
    "condition_number": "._linalg",
    "kappa_plus": "._linalg",
    "rank_tolerance": "._linalg",
    "singular_values": "._linalg",
    # unconstrained-features model oracles (spec §6; public module ncverify.ufm)
    "CEOptimum": "._ufm_closed",
    "MSEOptimum": "._ufm_closed",
    "ce_optimum": "._ufm_closed",
    "mse_bias_optimum": "._ufm_closed",
    "two_factor_mse_optimum": "._ufm_closed",
    "DeepOptimum": "._ufm_deep",
    "deep_linear_optimum": "._ufm_deep",
    "Certificate": "._ufm_cvx",
    "certify_ufm": "._ufm_cvx",
    "UFMFit": "._ufm_gd",
    "fit_ufm": "._ufm_gd",
    "SymbolicCheck": "._ufm_symbolic",
    # theorem specs as data and the registry (public module ncverify.spec)
    "TheoremSpec": "._spec",
    "Assumption": "._spec",
    "Claim": "._spec",
    "Source": "._spec",
    "SymbolicReport": "._bounds",
    "check_bound_symbolically": "._bounds",
    "register": "._registry",
    "get_theorem": "._registry",
    "all_theorems": "._registry",
    # hypothesis strategies for JSWM Theorem 3.1 and the GD invariants
    "head_instances": "._strategies_jswm",
    "balanced_heads": "._strategies_jswm",
    "balanced_pairs": "._strategies_jswm",
    "factorizations": "._strategies_jswm",
    "gd_steps": "._strategies_gd",
    "ufm_points": "._strategies_gd",
    # training under GD with weight decay, sharpness (public module ncverify.train;
    # the function itself is ncverify.train.train, the module name being taken)
    "DIVERGENCE_FACTOR": "._train",
    "TrainingConfig": "._train",
    "TrainingRun": "._train",
    "Trajectory": "._train",
    "Sharpness": "._sharpness",
    "sharpness": "._sharpness",
    # small-scale reproductions of JSWM's experiments (ncverify reproduce)
    "ReproduceResult": "._reproduce",
    "jswm_layers": "._reproduce",
    "jswm_head_depth": "._reproduce",
}

__all__ = [
    "__version__",
    "NCVerifyError",
    "InvalidInput",
    "ProblemTooLarge",
    "SolverFailed",
    "TrainingDiverged",
    "InvalidArchitecture",
    *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ncverify' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
