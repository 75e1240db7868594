"""THE verdict rule set, statuses, negative controls, floors, roles and the high-precision
re-measurement of failing claims (ncverify.spec; docs/theorems.md#verdicts)."""

from __future__ import annotations

import math

import pytest

from ncverify import InvalidInput
from ncverify.spec import (
    Assumption,
    AssumptionOutcome,
    AssumptionStatus,
    Claim,
    ClaimOutcome,
    Control,
    Floor,
    Source,
    TheoremSpec,
    Verdict,
    decide_verdict,
)

SRC = Source("Toy paper", "0000.00000", "Theorem 1")


def A(name, status, held, proxy=None):
    return AssumptionOutcome(name, status, held, proxy=proxy)


def C(name, held, reason=""):
    return ClaimOutcome(name, 1.0, None if held is None else 2.0, "<=", held, False, "", reason)


CHECKED_OK = A("h", "checked", True)
CHECKED_BAD = A("h", "checked", False)
NOT_CHECKABLE = A("n", "not_checkable", None)
NEC_OK = A("p", "proxied", True, "necessary")
NEC_BAD = A("p", "proxied", False, "necessary")
SUF_OK = A("p", "proxied", True, "sufficient")
SUF_BAD = A("p", "proxied", False, "sufficient")
DECL_OK = A("d", "declared", True)
DECL_BAD = A("d", "declared", False)


@pytest.mark.parametrize(
    ("assumptions", "claims", "verdict", "reason"),
    [
        # every hypothesis established
        ([CHECKED_OK], [C("c", True)], Verdict.CONFIRMED, ""),
        ([SUF_OK, DECL_OK], [C("c", True)], Verdict.CONFIRMED, ""),
        ([CHECKED_OK], [C("c", False)], Verdict.COUNTEREXAMPLE, "claims failed: c"),
        # failures first: a failed claim is never hidden by an undecided one
        ([CHECKED_OK], [C("u", None), C("c", False)], Verdict.COUNTEREXAMPLE, "claims failed: c"),
        ([CHECKED_OK], [C("u", None, "vacuous")], Verdict.INCONCLUSIVE, "u (vacuous)"),
        # a failed hypothesis puts the run outside, whatever the claims
        ([CHECKED_BAD], [C("c", False)], Verdict.OUTSIDE, "hypotheses failed: h"),
        ([NEC_BAD], [C("c", True)], Verdict.OUTSIDE, "hypotheses failed: p"),
        ([DECL_BAD, NOT_CHECKABLE], [C("c", False)], Verdict.OUTSIDE, "hypotheses failed: d"),
        # hypotheses not established: never confirmed; a failed claim there is unexplained
        ([NOT_CHECKABLE], [C("c", True)], Verdict.OUTSIDE, "not established: n (not checkable)"),
        ([NEC_OK], [C("c", True)], Verdict.OUTSIDE, "p (necessary proxy held)"),
        ([SUF_BAD], [C("c", True)], Verdict.OUTSIDE, "p (sufficient proxy failed)"),
        ([NOT_CHECKABLE], [C("c", False)], Verdict.UNEXPLAINED, "n (not checkable)"),
        ([CHECKED_OK, NEC_OK], [C("c", False)], Verdict.UNEXPLAINED, "p (necessary proxy held)"),
        ([], [], Verdict.INCONCLUSIVE, "no claim was evaluated"),
    ],
)
def test_the_rule_set(assumptions, claims, verdict, reason):
    got, why = decide_verdict(assumptions, claims)
    assert got is verdict
    assert reason in why


def test_an_inconclusive_reason_wins():
    assert decide_verdict(
        [CHECKED_OK], [C("c", False)], inconclusive_reason="diverged at step 3"
    ) == (Verdict.INCONCLUSIVE, "diverged at step 3")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(status="proxied"), "a proxied hypothesis must say whether its proxy is"),
        (dict(status="checked", proxy="necessary"), "only a proxied one has a proxy"),
        (dict(status="proxied", proxy="both"), "proxy='both'"),
    ],
)
def test_proxies_state_their_direction(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        Assumption("p", "a proxy", "x > 0", **kwargs)


def toy(**extra):
    return TheoremSpec(
        id="toy",
        title="toy",
        source=SRC,
        provenance="paper",
        assumptions=(Assumption("H", "h below 1", "h < 1"),),
        claims=(Claim("c", "x", "<=", "2*e/(1 - h)", errors=("e",)),),
        **extra,
    )


def ev(spec, **values):
    return spec.evaluate(values, seed=0, inputs={})


CONTROLS = (
    Control("half", "tighten", claim="c", factor=0.5, description="bound halved"),
    Control("no-h", "replace", claim="c", expression="2*e", description="(1 - h) dropped"),
    Control("flip", "reverse", claim="c"),
    Control("wide", "weaken", assumption="H", predicate="h < 10", description="h < 10"),
)


def test_controls_build_false_variants_and_are_judged_on_the_same_values():
    spec = toy(controls=CONTROLS)
    assert spec.variant("half").claims[0].expression == "(2*e/(1 - h))*(0.5)"
    assert spec.variant("flip").claims[0].relation == ">="
    assert spec.variant("wide").assumptions[0].predicate == "h < 10"
    assert spec.variant("no-h").provenance == "qualitative"
    # x = 0.8·bound = 1.6: the real claim holds; the halved bound (1), the bound without its
    # (1 − h) factor (1) and the reversed claim (x >= 2) fail; weakening h < 1 changes nothing
    e = ev(spec, x=0.8 * 2 * 0.5 / 0.5, e=0.5, h=0.5)
    assert e.verdict is Verdict.CONFIRMED
    assert e.controls == {"half": True, "no-h": True, "flip": True, "wide": False}
    # far below the bound: only the reversed claim fails
    assert ev(spec, x=0.1, e=0.5, h=0.5).controls == {
        "half": False,
        "no-h": False,
        "flip": True,
        "wide": False,
    }
    # h = 2 is outside the real theorem; the weakened hypothesis admits it and its claim fails
    outside = ev(spec, x=5.0, e=0.5, h=2.0)
    assert outside.verdict is Verdict.OUTSIDE and outside.controls["wide"] is True


def test_a_control_is_caught_only_beyond_rounding():
    spec = toy(controls=(Control("tiny", "tighten", claim="c", factor=1 - 1e-12),))
    bound = 2 * 0.5 / 0.5
    e = ev(spec, x=bound * (1 - 1e-13), e=0.5, h=0.5)
    assert e.verdict is Verdict.CONFIRMED and e.controls == {"tiny": False}


@pytest.mark.parametrize(
    ("control", "message"),
    [
        (Control("x", "tighten", claim="nope", factor=0.5), "changes 'nope', which is not a claim"),
        (Control("x", "weaken", assumption="c", predicate="h < 2"), "not a checkable hypothesis"),
    ],
)
def test_controls_must_target_the_theorem(control, message):
    with pytest.raises(InvalidInput, match=message):
        toy(controls=(control,))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(kind="shrink", claim="c"), "kind 'shrink' is not one of"),
        (dict(kind="tighten", claim="c"), "kind 'tighten' needs factor"),
        (dict(kind="tighten", claim="c", factor=1), "must be a positive number != 1"),
        (dict(kind="weaken", assumption="H"), "kind 'weaken' needs predicate"),
        (dict(kind="replace", claim="c", expression="open("), "cannot parse"),
    ],
)
def test_bad_controls_are_refused(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        Control("x", **kwargs)


def test_floors_say_why_a_check_is_vacuous():
    floor = Floor(min_in_scope=2, max_undecided_fraction=0.25)
    assert floor.shortfall(["confirmed", "confirmed", "outside"]) is not None  # 33% undecided
    assert "1 of 1 evaluations confirmed (minimum 2)" in floor.shortfall(["confirmed"])
    assert floor.shortfall(["confirmed"] * 3 + ["inconclusive"]) is None
    with pytest.raises(InvalidInput, match="max_undecided_fraction=2"):
        Floor(max_undecided_fraction=2)


def test_robustness_runs_are_recorded_under_their_own_id():
    e = toy().evaluate(dict(x=0.1, e=0.5, h=2.0), seed=0, inputs={}, role="robustness")
    assert e.theorem_id == "toy/robustness" and e.role == "robustness"
    with pytest.raises(InvalidInput, match="role='other'"):
        toy().evaluate(dict(x=0.1, e=0.5, h=0.5), seed=0, inputs={}, role="other")


def test_missing_measurements_are_undecided_with_a_reason_never_a_stand_in():
    e = toy().evaluate(dict(e=0.5, h=0.5), seed=0, inputs={}, unmeasured="undecided")
    (c,) = e.claims
    assert c.held is None and c.reason == "not measured: x" and math.isnan(c.quantity)
    assert e.verdict is Verdict.INCONCLUSIVE and "not measured: x" in e.reason
    e = toy().evaluate(dict(x=0.1, e=0.5, h=math.nan), seed=0, inputs={}, unmeasured="undecided")
    assert e.assumptions[0].status is AssumptionStatus.NOT_CHECKABLE
    assert "not measured on this run (h)" in e.assumptions[0].rule


def test_margins_show_how_close_a_hypothesis_came_to_its_boundary():
    e = ev(toy(), x=0.1, e=0.5, h=0.9)
    assert e.assumptions[0].margin == pytest.approx(0.1)
    assert ev(toy(), x=0.1, e=0.5, h=1.5).assumptions[0].margin == pytest.approx(-0.5 / 1.5)


# -- high-precision re-measurement ---------------------------------------------------------
class Snap:
    """A snapshot whose float measurement of x is off by ``error`` (a measurement bug)."""

    def __init__(self, x, error):
        self.x, self.error = x, error


def _exact(snap, *, dps):
    import mpmath

    return {"x": mpmath.mpf(snap.x), "e": mpmath.mpf(1), "h": mpmath.mpf(0)}


def precise_spec():
    return TheoremSpec(
        id="precise",
        title="x <= 2e",
        source=SRC,
        provenance="paper",
        assumptions=(Assumption("H", "h below 1", "h < 1"),),
        claims=(Claim("c", "x", "<=", "2*e/(1 - h)"),),
        measurement=lambda s: {"x": s.x + s.error, "e": 1.0, "h": 0.0},
        remeasure=_exact,
    )


def test_a_failure_that_vanishes_in_high_precision_is_a_rounding_artefact():
    e = precise_spec().check(Snap(x=2.0, error=1e-6), seed=0, inputs={})
    (c,) = e.claims
    assert e.verdict is Verdict.INCONCLUSIVE
    assert c.held is None and c.certified is False and c.reason.startswith("rounding artefact")


def test_a_failure_that_persists_in_high_precision_is_a_certified_counterexample():
    e = precise_spec().check(Snap(x=2.5, error=0.0), seed=0, inputs={})
    (c,) = e.claims
    assert e.verdict is Verdict.COUNTEREXAMPLE and c.certified is True
    assert "fails in high precision" in c.reason


def test_without_a_snapshot_a_failure_is_not_certified():
    e = precise_spec().evaluate({"x": 2.5, "e": 1.0, "h": 0.0}, seed=0, inputs={})
    assert e.verdict is Verdict.COUNTEREXAMPLE and e.claims[0].certified is None
    assert "not certified: no snapshot to re-measure" in e.claims[0].reason


def test_the_snapshot_dtype_decides_the_slack():
    import torch

    class T:
        def __init__(self, dtype):
            self.W = torch.ones(2, 2, dtype=dtype)

    from ncverify.spec import snapshot_dtype

    assert snapshot_dtype(T(torch.float32)) == "float32"
    mixed = T(torch.float32)
    mixed.V = torch.ones(1, dtype=torch.float64)
    with pytest.raises(InvalidInput, match="mixes floating dtypes"):
        snapshot_dtype(mixed)


def test_a_failed_hypothesis_is_not_hidden_by_a_non_finite_measurement():
    """Failures first: h = 2 fails the hypothesis on finite values; x = inf (not measurable)
    makes the claim undecided, not the run inconclusive."""
    e = ev(toy(), x=math.inf, e=0.5, h=2.0)
    assert e.verdict is Verdict.OUTSIDE and "hypotheses failed: H" in e.reason
    e = ev(toy(), x=math.inf, e=0.5, h=0.5)
    assert e.verdict is Verdict.INCONCLUSIVE and "non-finite measured values: x=inf" in e.reason


def test_a_control_failing_by_one_percent_is_caught():
    """The control margin is a rounding allowance (1e-6 in float64), far below the 1% by which
    the shipped tightened controls fail."""
    spec = toy(controls=(Control("one-percent", "tighten", claim="c", factor=0.99),))
    e = ev(spec, x=2.0 * 0.5 / 0.5 * 0.999, e=0.5, h=0.5)  # 0.1% below the real bound
    assert e.verdict is Verdict.CONFIRMED and e.controls == {"one-percent": True}


@pytest.mark.parametrize(
    ("q", "held", "worst"),
    [
        ([math.nan, 2.0, 0.5], False, 1),  # a finite failing entry outranks the NaN one
        ([0.5, math.nan, 3.0, 2.0], False, 2),  # the worst of the failing entries
        ([math.nan, 0.5, 0.9], None, 0),  # nothing fails: the NaN entry leaves it undecided
        ([0.5, 0.9], True, 1),
    ],
)
def test_a_failing_entry_of_a_per_sample_claim_is_not_hidden_by_a_non_finite_one(q, held, worst):
    import numpy as np

    outcome, extra = Claim("c", "q", "<=", "b").evaluate({"q": np.array(q), "b": np.ones(len(q))})
    assert outcome.held is held and extra["c.worst_index"] == worst
