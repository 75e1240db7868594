"""Coverage: the generators reach the neighbourhood of every threshold hypothesis' boundary.

The report shows, per hypothesis, the range of its signed relative margin
(``AssumptionOutcome.margin``: ``(rhs − lhs)/max(|lhs|, |rhs|)``, 0 at the boundary) over the
confirmed evaluations. These tests draw the main tests' instances and pin that the smallest
margin of a confirmed, in-scope (role ``check``) instance comes within a small distance of 0:

* H-interp (ε1 < √(N(K−1)/K)) and H-interp-delta (ε1 < √n): within 0.05;
* H-rank (s_K(W_L) > max_dim·eps·s_1), over the NC1, NC2, NC3 specs: within 0.2. Closer, float64
  cannot measure the features: ‖Z_{L−1}‖ ~ 1/s_K(W_L) makes the rounding of Z_L grow like
  eps·κ(W_L), so ε1 and κ(Z̄_L) become undecidable (the runs are then outside or inconclusive,
  never confirmed by luck);
* H-plain-gd (the update is a plain GD step up to 64·eps): within 0.1 (steps moved off plain GD
  by up to 95% of the tolerance, still confirmed);
* H-depth (L2 >= 2): 0 (two-layer heads).

Not pinned, with the reason: H-linear-pair (a linear pair has probe residual ≈ 0; its
tolerance 64·max_dim·eps is a rounding allowance, not a mathematical boundary), H-weight-decay
(λ > 0: the relative margin of a comparison with 0 is always 1).
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import torch
from hypothesis import given
from test_gd_invariants import STEPS, _step_role
from test_jswm_thm31 import HEADS, PAIRS, role

from ncverify.catalog import gd, jswm
from ncverify.catalog.jswm import factorizations, head_instances
from ncverify.pytest_plugin import hypothesis_settings, seeded


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _margins(specs, strategy, role_of, name: str, measure=None) -> dict[str, list[float]]:
    """Margins of every hypothesis over confirmed, role-``check`` evaluations."""
    out: dict[str, list[float]] = defaultdict(list)

    @seeded(name)
    @hypothesis_settings("deterministic")
    @given(inst=strategy)
    def collect(inst):
        measured = (measure or specs[0].measure)(inst)
        for spec in specs:
            if role_of(spec, inst) != "check":
                continue
            ev = spec.evaluate(measured, seed=None, inputs={})
            if ev.verdict.value == "confirmed":
                for a in ev.assumptions:
                    if a.margin is not None:
                        out[a.name].append(a.margin)

    collect()
    return out


def test_last_pairs_reach_the_h_interp_and_h_rank_boundaries():
    m = _margins(
        (jswm.NC1, jswm.NC2, jswm.NC3),
        head_instances(**PAIRS),
        role,
        "coverage-last-pairs",
        measure=jswm.measure_last_pair,
    )
    assert 0 <= min(m["H-interp"]) <= 0.05, min(m["H-interp"])
    assert 0 <= min(m["H-interp-delta"]) <= 0.05, min(m["H-interp-delta"])
    assert 0 <= min(m["H-rank"]) <= 0.2, min(m["H-rank"])


def test_gd_steps_reach_the_plain_gd_boundary():
    m = _margins(
        (gd.BALANCEDNESS_STEP,),
        STEPS,
        lambda spec, step: _step_role(step),
        "coverage-gd-steps",
    )
    assert 0 <= min(m["H-plain-gd"]) <= 0.1, min(m["H-plain-gd"])


def test_heads_reach_the_depth_boundary():
    m = _margins((jswm.DEPTH,), factorizations(**HEADS), lambda s, h: "check", "coverage-heads")
    assert min(m["H-depth"]) == 0.0
