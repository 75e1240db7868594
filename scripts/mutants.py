"""Mutation harness: every mutant of the table must be killed by the tests meant to catch it.

Usage (from the repository root, with the project's venv)::

    .venv/bin/python scripts/mutants.py            # the whole table, 2 mutants at a time
    .venv/bin/python scripts/mutants.py -j 1 -k nc1 # mutants whose id contains "nc1", serially
    .venv/bin/python scripts/mutants.py --list     # the table, without running anything

Each mutant is one source edit (``old`` → ``new``, ``old`` must occur exactly once in
``path``): a comparison direction, a tolerance, a metric's normalisation, a hypothesis
predicate, a term of a bound, a training claim, a verdict rule. The harness copies the
repository's files (``git ls-files``: tracked and untracked-but-not-ignored) to a temporary
directory per worker — never touching the working tree —, applies one mutant at a time there,
runs only the tests listed for it (``pytest -x``, the ``ci`` profile, that copy's package first
on ``PYTHONPATH``), restores the file, and prints the kill table. Each pytest run is a fresh
process forked from a server that has imported only third-party libraries (torch, sympy,
cvxpy, ...; never ncverify), which saves their import time per mutant; ``--subprocess``
starts ``python -m pytest`` instead (slower: there the training tests also shrink their
failures, which retrains networks for minutes; forked runs switch hypothesis' shrink phase off
for the mutants marked ``shrink=False``). The pytest status travels in a file, so a child that
fails to start reads as *error*, never as *killed*; do not edit this script while it runs
(each child re-imports it). A mutant is *killed* when
pytest exits with status 1 (a test failed), *survived* with status 0; any other status (a
collection or usage error: the mutant broke the code rather than its meaning) is reported as
*error*. Exit status: 0 when every mutant is killed, 1 otherwise, 2 on a bad table.

To add a mutant, append a ``Mutant(...)`` to ``MUTANTS`` (or to a family's list): an id, the
file, the exact text and its replacement, the tests that must catch it (pytest node ids, a
``-k`` expression after ``"-k"``) and why they do. The measured cost is in ``docs/budget.md``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    id: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str
    #: let hypothesis shrink the failure (False for the training tests, whose shrinking retrains
    #: networks for minutes: a kill needs the failure, not the minimal example)
    shrink: bool = True


T31 = "theorems/test_jswm_thm31.py"
GD = "theorems/test_gd_invariants.py"
REF = "test_negative_control_is_refuted_and_shrunk"  # real spec checked at the shrunk instance
TRAIN_44 = "theorems/test_jswm_training.py::test_theorem_4_4_lambda_sweeps"
TRAIN_53 = "theorems/test_jswm_training.py::test_proposition_5_3_edge_of_stability_sweeps"

ENGINE = [
    Mutant(
        "verdict-undecided-first",
        "ncverify/spec/_verdict.py",
        "    if failed:\n        return Verdict.OUTSIDE",
        "    if undecided and not failed:\n        return Verdict.INCONCLUSIVE, 'undecided'\n"
        "    if failed:\n        return Verdict.OUTSIDE",
        ("tests/test_verdicts.py::test_the_rule_set",),
        "a vacuous claim hides a failed one (the bug of issue 11)",
    ),
    Mutant(
        "verdict-unexplained-passes",
        "ncverify/spec/_verdict.py",
        "        if unestablished:\n            return Verdict.UNEXPLAINED",
        "        if unestablished:\n            return Verdict.INCONCLUSIVE",
        ("tests/test_verdicts.py::test_the_rule_set",),
        "a failure where only unmeasured hypotheses could explain it no longer fails",
    ),
    Mutant(
        "proxy-direction",
        "ncverify/spec/_verdict.py",
        'or self.proxy == "sufficient"',
        'or self.proxy == "necessary"',
        ("tests/test_verdicts.py::test_the_rule_set",),
        "a necessary proxy puts a run in scope",
    ),
    Mutant(
        "claim-comparison-direction",
        "ncverify/spec/_core.py",
        'margin = (b + slack - q) if self.relation == "<=" else (q + slack - b)',
        'margin = (b + slack - q) if self.relation == ">=" else (q + slack - b)',
        ("tests/test_verdicts.py",),
        "<= claims judged as >= claims",
    ),
    Mutant(
        "rtol-loosened",
        "ncverify/spec/_expr.py",
        "return max(1e-9, 1e4 * _eps(dtype))",
        "return max(1e-2, 1e4 * _eps(dtype))",
        ("tests/test_spec.py::test_slack_is_dtype_aware_and_tiny",),
        "claims judged with 1% slack",
    ),
    Mutant(
        "control-margin",
        "ncverify/spec/_theorem.py",
        "return min(1e3 * default_rtol(dtype), 1e-2)",
        "return 1e-1",
        ("tests/test_verdicts.py::test_a_control_failing_by_one_percent_is_caught",),
        "a control counts as caught only beyond 10%: the 1% controls are missed",
    ),
    Mutant(
        "floor-min-disabled",
        "ncverify/spec/_theorem.py",
        "if confirmed < self.min_in_scope:",
        "if confirmed < 0:",
        ("tests/test_verdicts.py::test_floors_say_why_a_check_is_vacuous",),
        "a check with too few confirmed evaluations passes",
    ),
    Mutant(
        "floor-fraction-disabled",
        "ncverify/spec/_theorem.py",
        "if n and undecided / n > self.max_undecided_fraction:",
        "if n and undecided / n > 1:",
        ("tests/test_plugin_checks.py::test_a_check_that_is_mostly_outside_fails_as_vacuous",),
        "a check that is mostly outside passes",
    ),
    Mutant(
        "no-certification",
        "ncverify/spec/_judge.py",
        "            claims = _certify(spec, claims, values, snapshot)",
        "            pass",
        ("tests/test_verdicts.py",),
        "a failure that vanishes in high precision stays a counterexample",
    ),
    Mutant(
        "weaken-keeps-domains",
        "ncverify/spec/_theorem.py",
        "                claims = _weaken_domains(self, control)",
        "                claims = self.claims",
        ("tests/test_catalog_controls.py",),
        "a weakened hypothesis no longer reaches the claim domains that restate it",
    ),
    Mutant(
        "seed-ignored",
        "ncverify/pytest_plugin/_seeds.py",
        'digest = hashlib.sha256(f"{int(base)}:{name}".encode()).digest()',
        'digest = hashlib.sha256(f"{name}".encode()).digest()',
        ("tests/test_plugin_checks.py::test_the_seed_option_changes_the_examples_reproducibly",),
        "--ncverify-seed changes no example",
    ),
]

METRICS = [
    Mutant(
        "sigma-b-normalisation",
        "ncverify/metrics/_core.py",
        "return float(centred.square().sum()) / centred.shape[0]",
        "return float(centred.square().sum()) / (centred.shape[0] - 1)",
        ("tests/test_metrics.py",),
        "tr Σ_B with 1/(K−1) instead of 1/K",
    ),
]

# a dropped term keeps its symbol (``0*term``): a claim's error symbols must occur in its bound
THEOREM_31 = [
    Mutant(
        "h-interp-sqrt-N",
        "ncverify/catalog/jswm/_specs.py",
        '    "eps1 < sqrt(N*(K - 1)/K)",\n)',
        '    "eps1 < sqrt(N)",\n)',
        ("tests/test_catalog_controls.py",),
        "issue 11's survivor: H-interp weakened to ε1 < √N",
    ),
    Mutant(
        "h-interp-delta-2sqrt-n",
        "ncverify/catalog/jswm/_specs.py",
        '"near interpolation of the class means: δ = ε1/√n < 1", "eps1 < sqrt(n)"',
        '"near interpolation of the class means: δ = ε1/√n < 1", "eps1 < 2*sqrt(n)"',
        ("tests/test_catalog_controls.py::test_claim_domains_restate_their_hypotheses",),
        "H-interp-delta weakened to δ < 2",
    ),
    Mutant(
        "h-rank-any",
        "ncverify/catalog/jswm/_specs.py",
        '"sK_WL > max_dim*machine_eps*s1_WL",',
        '"sK_WL >= 0",',
        ("tests/test_catalog_inputs.py::test_a_head_narrower_than_K_fails_h_rank",),
        "H-rank that cannot fail",
    ),
    Mutant(
        "h-depth-any",
        "ncverify/catalog/jswm/_specs.py",
        'Assumption("H-depth", "the head has at least 2 layers", "L2 >= 2")',
        'Assumption("H-depth", "the head has at least 2 layers", "L2 >= 1")',
        ("tests/test_catalog_inputs.py::test_a_single_layer_head_fails_h_depth",),
        "H-depth admits one-layer heads (where the depth claims hold trivially)",
    ),
    Mutant(
        "nc1-eps1-no-sqrt-eps2",
        "ncverify/catalog/jswm/_specs.py",
        '"s1_WL**2*(eps1/sK_WL + sqrt(eps2)*Z2_F)**2/(sqrt(N*(K - 1)/K) - eps1)**2",',
        '"s1_WL**2*(eps1/sK_WL + 0*sqrt(eps2)*Z2_F)**2/(sqrt(N*(K - 1)/K) - eps1)**2",',
        (f"{T31}::{REF}[jswm-3.1-nc1~eps1-no-sqrt-eps2]",),
        "a term of the NC1 bound dropped",
    ),
    Mutant(
        "nc2-eps1-no-eps2",
        "ncverify/catalog/jswm/_specs.py",
        '"+ eps2*Zbar2_op**2*s1_WL**2/(1 - eps1/sqrt(n))**2)",',
        '"+ 0*eps2*Zbar2_op**2*s1_WL**2/(1 - eps1/sqrt(n))**2)",',
        (f"{T31}::{REF}[jswm-3.1-nc2~eps1-no-eps2]",),
        "issue 11's survivor: nc2-eps1 without its ε2 term (between-class null-space means)",
    ),
    Mutant(
        "nc2-sharp-no-eps2",
        "ncverify/catalog/jswm/_specs.py",
        '"sqrt(kappa_WL**2*kappa_L**2 + eps2*Zbar2_op**2*s1_WL**2/sK_ZbarL**2)",',
        '"sqrt(kappa_WL**2*kappa_L**2 + 0*eps2*Zbar2_op**2*s1_WL**2/sK_ZbarL**2)",',
        (f"{T31}::{REF}[jswm-3.1-nc2~eps1-no-eps2]",),
        "a term of the sharp NC2 bound dropped",
    ),
    Mutant(
        "nc3-sample-no-q",
        "ncverify/catalog/jswm/_specs.py",
        '"(1 - abs_r)/(norm_wc*(norm_pinv_ec + norm_r/sK_WL + norm_q))",',
        '"(1 - abs_r)/(norm_wc*(norm_pinv_ec + norm_r/sK_WL + 0*norm_q))",',
        (f"{T31}::{REF}[jswm-3.1-nc3~sample-no-q]",),
        "a term of the NC3 bound dropped",
    ),
    Mutant(
        "nc3-kappa-kantorovich",
        "ncverify/catalog/jswm/_specs.py",
        '"(1 - abs_r)/((1 + kappa_WL**2)/(2*kappa_WL) + kappa_WL*norm_r + s1_WL*norm_q)",',
        '"(1 - abs_r)/((1 + kappa_WL**2)/(2.2*kappa_WL) + kappa_WL*norm_r + s1_WL*norm_q)",',
        (f"{T31}::test_the_exact_kantorovich_case_is_attained",),
        "Kantorovich's constant changed by 10%",
    ),
    Mutant(
        "depth-upper-no-E",
        "ncverify/catalog/jswm/_specs.py",
        '"((sA1**2 + E)/(sAK**2 - E))**(1/(2*L2))",',
        '"((sA1**2 + 0*E)/(sAK**2 - E))**(1/(2*L2))",',
        (f"{T31}::test_depth_negative_control_is_refuted",),
        "a term of the depth bound dropped",
    ),
    Mutant(
        "kappa-uncertainty",
        "ncverify/catalog/jswm/_measure.py",
        "    d = delta + gamma * s1\n",
        "    d = 0.0 * (delta + gamma * s1)\n",
        ("tests/test_catalog_uncertainty.py",),
        "κ measured as if exact: the uncertainty no longer bounds the rounding error",
    ),
    Mutant(
        "nc3-numerator",
        "ncverify/catalog/jswm/_measure.py",
        "    cos = ZL[idx, y] / (torch.linalg.norm(Z1, dim=1) * torch.linalg.norm(w_c, dim=1))",
        "    cos = ZL[idx, y] / (torch.linalg.norm(Z1, dim=1) * torch.linalg.norm(W, dim=1)[0])",
        (f"{T31}::test_measurements_agree_with_metrics",),
        "the cosine normalised by the wrong classifier row",
    ),
]

GRADIENT_DESCENT = [
    Mutant(
        "gd-recursion-decay-power",
        "ncverify/catalog/gd/_measure.py",
        "    pred = (1 - eta * lam) ** 2 * D + eta**2 * (Gu.T @ Gu - Gl @ Gl.T)",
        "    pred = (1 - eta * lam) * D + eta**2 * (Gu.T @ Gu - Gl @ Gl.T)",
        ("tests/test_catalog_inputs.py::test_a_plain_gd_step_of_a_linear_pair_is_confirmed",),
        "the recursion measured with (1−ηλ) instead of (1−ηλ)²",
    ),
    Mutant(
        "gd-plain-tolerance",
        "ncverify/catalog/gd/_specs.py",
        '"step_rel <= 64*machine_eps",',
        '"step_rel <= 1",',
        (f"{GD}::test_momentum_is_detected_from_the_weights",),
        "H-plain-gd that accepts any update: momentum steps in scope",
    ),
    Mutant(
        "gd-recursion-atol",
        "ncverify/catalog/gd/_specs.py",
        'atol="4096*machine_eps",',
        'atol="0*machine_eps",',
        ("tests/test_catalog_inputs.py::test_a_plain_gd_step_of_a_linear_pair_is_confirmed",),
        "the recursion without its rounding allowance",
    ),
    Mutant(
        "gd-linear-probe",
        "ncverify/catalog/gd/_measure.py",
        "    return max(forward, backward, upper)",
        "    return max(backward, upper)",
        ("tests/test_catalog_inputs.py", "-k", "bias"),
        "H-linear-pair blind to a bias on the lower layer",
    ),
    Mutant(
        "h-weight-decay-any",
        "ncverify/catalog/gd/_specs.py",
        '_LAMBDA = Assumption("H-weight-decay", "weight decay λ > 0", "lam > 0")',
        '_LAMBDA = Assumption("H-weight-decay", "weight decay λ > 0", "lam >= 0")',
        ("tests/test_catalog_inputs.py", "-k", "without_weight_decay"),
        "H-weight-decay admits λ = 0 (where every cost claim is 0 <= 0)",
    ),
    Mutant(
        "stationary-drop-lower",
        "ncverify/catalog/gd/_specs.py",
        '"(W_up_op*grad_up_F + W_lo_op*grad_lo_F)/lam",',
        '"(W_up_op*grad_up_F + 0*W_lo_op*grad_lo_F)/lam",',
        (f"{GD}::{REF}[gd-near-stationary~drop-lower]",),
        "a term of the near-stationary bound dropped",
    ),
    Mutant(
        "rep-cost-factor",
        "ncverify/catalog/gd/_specs.py",
        '"cost-lower-bound", "cost", ">=", "lam*L2*schatten/2"',
        '"cost-lower-bound", "cost", ">=", "lam*L2*schatten/1.9"',
        (f"{GD}::{REF}[head-representation-cost~lower-1.01]",),
        "the representation cost's constant changed by 5%",
    ),
    Mutant(
        "rep-cost-attained-no-E",
        "ncverify/catalog/gd/_measure.py",
        'schatten_E=float(((torch.as_tensor(out["s_A"]) ** 2 + out["E"]) ** (1.0 / L2)).sum()),',
        'schatten_E=float(((torch.as_tensor(out["s_A"]) ** 2) ** (1.0 / L2)).sum()),',
        (f"{GD}::test_cost_is_attained_up_to_the_imbalance",),
        "the attained-cost bound without the imbalance E",
    ),
]

TRAINING = [
    Mutant(
        "training-imbalance-lemma",
        "ncverify/catalog/jswm/_specs_training.py",
        '            "imb_lhs",\n            "<=",\n            "E",',
        '            "imb_lhs",\n            "<=",\n            "0.9*E",',
        (
            "tests/test_train_theorems.py::"
            "test_imbalance_lemma_is_tight_when_the_first_layer_grows_along_the_top_direction",
        ),
        "jswm-5.2-imbalance: the imbalance bound E made 10% smaller (it is attained)",
    ),
    Mutant(
        "training-4.4-near-stationary",
        "ncverify/catalog/jswm/_specs_training.py",
        '    "grad_rel",\n    "<=",\n    "conv_tol",',
        '    "grad_rel",\n    "<=",\n    "1e-9*conv_tol",',
        (TRAIN_44,),
        "jswm-4.4: near-stationarity claimed to a tolerance 1e9 times smaller",
        shrink=False,
    ),
    Mutant(
        "training-4.4-envelope",
        "ncverify/catalog/jswm/_specs_training.py",
        '    "env_t + env_rnd_t",',
        '    "0.9*(env_t + env_rnd_t)",',
        (TRAIN_44,),
        "jswm-4.4: the balancedness envelope 10% smaller (GD follows it closely)",
        shrink=False,
    ),
    Mutant(
        "training-4.4-rates-reversed",
        "ncverify/catalog/jswm/_specs_training.py",
        '            "slope_eps2",\n            "<=",',
        '            "slope_eps2",\n            ">=",',
        (TRAIN_44,),
        "jswm-4.4-rates: ε2 claimed to grow with λ (the trend reversed)",
        shrink=False,
    ),
    Mutant(
        "training-5.2-no-nonlinear-cost",
        "ncverify/catalog/jswm/_specs_training.py",
        '"((exp(c_eff)*sAK**2 + E)/(sAK**2 - E))**(1/(2*L2))",',
        '"((exp(0*c_eff)*sAK**2 + E)/(sAK**2 - E))**(1/(2*L2))",',
        ("theorems/test_jswm_training.py::test_theorem_5_2_head_depth_sweeps",),
        "jswm-5.2: the nonlinear cost ĉ_eff dropped from exp(ĉ_eff/(2 L2))",
        shrink=False,
    ),
    Mutant(
        "training-5.3-bound-quartered",
        "ncverify/catalog/jswm/_specs_training.py",
        '"s1_WL*sqrt(N*(2/lr - lam)/(L2*zu2 - (L2 - 1)*rho_neg))",',
        '"s1_WL*sqrt(N*(2/lr - lam)/(L2*zu2 - (L2 - 1)*rho_neg))/4",',
        (TRAIN_53,),
        "issue 11's survivor: jswm-5.3's bound divided by 4",
        shrink=False,
    ),
    Mutant(
        "training-5.3-eos-reversed",
        "ncverify/catalog/jswm/_specs_training.py",
        '            "kappa_next",\n            "<=",\n            "kappa_prev*(1 + trend_rtol)",',
        '            "kappa_next",\n            ">=",\n            "kappa_prev*(1 + trend_rtol)",',
        (TRAIN_53,),
        "jswm-5.3-eos: κ(W_L) claimed to grow with η (the trend reversed)",
        shrink=False,
    ),
]

MUTANTS = ENGINE + METRICS + THEOREM_31 + GRADIENT_DESCENT + TRAINING


def _files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [f for f in out.stdout.splitlines() if (ROOT / f).is_file()]


def _copy(dest: Path, files: list[str]) -> None:
    for f in files:
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, target)


def _validate(mutants: list[Mutant]) -> list[str]:
    problems = []
    ids = [m.id for m in mutants]
    problems += [f"duplicate id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for m in mutants:
        path = ROOT / m.path
        if not path.is_file():
            problems.append(f"{m.id}: no file {m.path}")
            continue
        n = path.read_text(encoding="utf-8").count(m.old)
        if n != 1:
            problems.append(f"{m.id}: the text to mutate occurs {n} times in {m.path} (need 1)")
        if m.old == m.new:
            problems.append(f"{m.id}: old and new are the same")
    return problems


#: third-party modules the fork server imports once (never ncverify: each mutant's copy of the
#: package must be imported fresh, from that copy; nor hypothesis, whose pytest plugin expects
#: to be loaded by pytest)
#: CPU seconds of each forked pytest run (for the summary line)
_CPU: list[float] = []

PRELOAD = ("numpy", "scipy", "mpmath", "sympy", "torch", "pytest", "cvxpy")


def _pytest_child(root: str, args: list[str], log: str, shrink: bool = True) -> None:
    """Body of a forked pytest run: the copy first on sys.path (and on PYTHONPATH for the
    processes the tests start), output to ``log``, pytest's exit status as the exit code;
    ``shrink=False`` loads a hypothesis profile without the shrink phase."""
    os.chdir(root)
    os.environ.update(PYTHONPATH=root, NCVERIFY_PROFILE="ci")
    os.environ.pop("NCVERIFY_SEED", None)
    sys.path.insert(0, root)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    if not shrink:
        from hypothesis import Phase, settings

        phases = [p for p in Phase if p is not Phase.shrink]
        settings.register_profile("ncverify-mutants-no-shrink", phases=phases)
        settings.load_profile("ncverify-mutants-no-shrink")
    import pytest

    try:
        code = int(pytest.main(args))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    # the status travels in a file: a child that dies before pytest returns (exit code 1 from
    # an exception in multiprocessing's start-up) must not read as "a test failed"
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    Path(log + ".status").write_text(f"{code} {cpu}", encoding="utf-8")
    os._exit(code)


def _forked(
    root: Path, args: list[str], timeout: float, ctx, shrink: bool = True
) -> tuple[int, list[str]]:
    with tempfile.NamedTemporaryFile(suffix=".log", delete=False) as f:
        log = f.name
    try:
        proc = ctx.Process(target=_pytest_child, args=(str(root), args, log, shrink))
        proc.start()
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join()
            return -1, ["timeout"]
        text = Path(log).read_text(encoding="utf-8", errors="replace")
        status = Path(log + ".status")
        code, cpu = -2, 0.0
        if status.is_file():
            code_text, cpu_text = status.read_text(encoding="utf-8").split()
            code, cpu = int(code_text), float(cpu_text)
        _CPU.append(cpu)
        return code, text.strip().splitlines()[-1:] or [f"child exit code {proc.exitcode}"]
    finally:
        for leftover in (log, log + ".status"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def _run(m: Mutant, root: Path, timeout: float, ctx=None) -> tuple[str, float, str]:
    path = root / m.path
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace(m.old, m.new, 1), encoding="utf-8")
    args = [*m.tests, "-x", "-q", "-p", "no:cacheprovider"]
    start = time.monotonic()
    try:
        if ctx is not None:
            status, tail = _forked(root, args, timeout, ctx, m.shrink)
        else:
            env = {**os.environ, "PYTHONPATH": str(root), "NCVERIFY_PROFILE": "ci"}
            env.pop("NCVERIFY_SEED", None)
            cmd = [sys.executable, "-m", "pytest", *args]
            try:
                proc = subprocess.run(
                    cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout
                )
                out = (proc.stdout + proc.stderr).strip().splitlines()[-1:]
                status, tail = proc.returncode, out
            except subprocess.TimeoutExpired:
                status, tail = -1, ["timeout"]
    finally:
        path.write_text(original, encoding="utf-8")
    result = {0: "SURVIVED", 1: "killed"}.get(status, "error")
    return result, time.monotonic() - start, (tail[0] if tail else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants run at a time")
    parser.add_argument("-k", "--only", default="", help="run mutants whose id contains this")
    parser.add_argument("--list", action="store_true", help="print the table and exit")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument(
        "--subprocess",
        action="store_true",
        help="run each pytest as `python -m pytest` (no fork server with preloaded imports)",
    )
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if args.only in m.id]
    problems = _validate(mutants)
    if problems:
        print("bad mutant table:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    if args.list:
        for m in mutants:
            print(f"{m.id:30} {m.path:40} {' '.join(m.tests)}\n{'':30} {m.why}")
        return 0
    jobs = max(1, min(args.jobs, len(mutants)))
    files = _files()
    start = time.monotonic()
    ctx = None
    if not args.subprocess:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(PRELOAD))
    with tempfile.TemporaryDirectory(prefix="ncverify-mutants-") as tmp:
        roots = [Path(tmp) / f"copy{i}" for i in range(jobs)]
        for r in roots:
            _copy(r, files)
        free = list(roots)

        def work(m: Mutant):
            root = free.pop()
            try:
                return m, *_run(m, root, args.timeout, ctx)
            finally:
                free.append(root)

        # the training tests take longest: start them first so that the workers end together
        queue = sorted(mutants, key=lambda m: not any("test_jswm_training" in t for t in m.tests))
        with ThreadPoolExecutor(jobs) as pool:
            done = dict(zip([m.id for m in queue], pool.map(work, queue), strict=True))
        results = [done[m.id] for m in mutants]
    width = max(len(m.id) for m in mutants)
    print(f"{'mutant':{width}}  {'result':8}  {'seconds':>7}  tests")
    for m, result, seconds, tail in results:
        print(f"{m.id:{width}}  {result:8}  {seconds:7.1f}  {' '.join(m.tests)}")
        if result != "killed":
            print(f"{'':{width}}  -> {m.why}; pytest: {tail}")
    killed = sum(r == "killed" for _, r, _, _ in results)
    cpu = f", {sum(_CPU):.0f} CPU-seconds in the pytest runs" if _CPU else ""
    print(
        f"{killed} of {len(results)} mutants killed in {time.monotonic() - start:.0f} s "
        f"({jobs} at a time{cpu})"
    )
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
