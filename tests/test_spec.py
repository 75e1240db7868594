"""The theorem-spec machinery: claims, assumptions, verdicts, registry, symbolic checks."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ncverify import AssumptionStatus, Evaluation, InvalidInput, NCVerifyError, Verdict
from ncverify.catalog import gd, jswm
from ncverify.pytest_plugin import hypothesis_settings
from ncverify.spec import (
    Assumption,
    Claim,
    Source,
    TheoremSpec,
    all_theorems,
    check_bound_symbolically,
    default_rtol,
    get_theorem,
    register,
)
from ncverify.spec import _registry as registry

SRC = Source("Toy paper", "0000.00000", "Theorem 1")


def toy(**claim_kw) -> TheoremSpec:
    """x <= 2*e/(1 - e) on e < 1, under the hypothesis h < 1."""
    kw = dict(
        name="c",
        quantity="x",
        relation="<=",
        expression="2*e/(1 - e)",
        domain=("e < 1",),
        errors=("e",),
        exact_value="0",
        reparametrization={"e": "1/(1 + g)"},
    )
    kw.update(claim_kw)
    return TheoremSpec(
        id="toy",
        title="toy",
        source=SRC,
        provenance="derived",
        proof="docs/theorems.md#toy",
        assumptions=(Assumption("H", "h below one", "h < 1"),),
        claims=(Claim(**kw),),
    )


def ev(spec, **measured):
    return spec.evaluate(measured, seed=1, inputs={"n": 3})


# ----------------------------------------------------------------------------- verdicts
@pytest.mark.parametrize(
    ("measured", "verdict", "held"),
    [
        (dict(x=0.5, e=0.5, h=0.0), Verdict.CONFIRMED, True),  # 0.5 <= 2
        (dict(x=3.0, e=0.5, h=0.0), Verdict.COUNTEREXAMPLE, False),  # 3 > 2
        (dict(x=3.0, e=0.5, h=2.0), Verdict.OUTSIDE, False),  # hypothesis failed
        (dict(x=0.1, e=0.5, h=1.0), Verdict.OUTSIDE, True),  # strict: h = 1 fails
        (dict(x=0.5, e=1.0, h=0.0), Verdict.INCONCLUSIVE, None),  # outside the domain
        (dict(x=math.nan, e=0.5, h=0.0), Verdict.INCONCLUSIVE, None),
        (dict(x=0.5, e=math.inf, h=0.0), Verdict.INCONCLUSIVE, None),
    ],
)
def test_verdict_rules(measured, verdict, held):
    e = ev(toy(), **measured)
    assert e.verdict is verdict, e.reason
    assert e.claims[0].held is held
    assert e.seed == 1 and e.inputs == {"n": 3}
    assert e.theorem_id == "toy" and e.provenance == "derived"
    assert e.source == "Toy paper (arXiv 0000.00000), Theorem 1"


def test_vacuous_outside_domain_reports_no_number():
    (c,) = ev(toy(), x=0.5, e=1.5, h=0.0).claims
    assert c.vacuous and c.bound is None and c.held is None


def test_non_finite_measurement_is_inconclusive_with_reason():
    e = ev(toy(), x=math.nan, e=0.5, h=0.0)
    assert e.verdict is Verdict.INCONCLUSIVE
    assert "non-finite measured values: x=nan" in e.reason


def test_not_checkable_assumption_never_held():
    spec = TheoremSpec(
        id="t",
        title="t",
        source=SRC,
        provenance="paper",
        assumptions=(
            Assumption(
                "init", "an initialisation condition", None, status=AssumptionStatus.NOT_CHECKABLE
            ),
        ),
        claims=(Claim("c", "x", "<=", "1"),),
    )
    good, bad = ev(spec, x=0.5), ev(spec, x=2.0)
    # a hypothesis that cannot be checked is never counted as held: the run is outside the
    # theorem's scope, and a failing claim there is unexplained (it fails the test)
    assert good.assumptions[0].held is None and good.verdict is Verdict.OUTSIDE
    assert "not established: init (not checkable)" in good.reason
    assert bad.verdict is Verdict.UNEXPLAINED and "init (not checkable)" in bad.reason


def test_slack_is_dtype_aware_and_tiny():
    assert default_rtol("float64") == 1e-9
    assert default_rtol("float32") == pytest.approx(1.1920928955078125e-3)
    spec = toy()
    bound = 2 * 0.5 / 0.5
    assert ev(spec, x=bound * (1 + 5e-10), e=0.5, h=0.0).verdict is Verdict.CONFIRMED
    assert ev(spec, x=bound * (1 + 5e-9), e=0.5, h=0.0).verdict is Verdict.COUNTEREXAMPLE
    e32 = spec.evaluate(
        dict(x=bound * (1 + 5e-4), e=0.5, h=0.0), seed=0, inputs={}, dtype="float32"
    )
    assert e32.verdict is Verdict.CONFIRMED


def test_atol_and_uncertainty_widen_only_as_documented():
    floor = toy(
        expression="e", exact_value="0", atol="4*machine_eps", domain=(), reparametrization={}
    )
    assert ev(floor, x=3e-16, e=0.0, h=0).verdict is Verdict.CONFIRMED
    assert ev(floor, x=1e-14, e=0.0, h=0).verdict is Verdict.COUNTEREXAMPLE
    unc = toy(
        expression="e", exact_value="0", uncertainty={"e": "u"}, domain=(), reparametrization={}
    )
    e = unc.evaluate(dict(x=1.5, e=1.0, u=0.6, h=0), seed=0, inputs={})
    assert e.verdict is Verdict.CONFIRMED and e.claims[0].bound == pytest.approx(1.6)


def test_per_sample_claims_report_the_worst_entry():
    spec = toy(
        relation=">=",
        expression="1 - e",
        errors=("e",),
        exact_value="1",
        reparametrization={"e": "1/(1 + g)"},
    )
    x = np.array([0.99, 0.51, 1.2, 5.0])
    e = np.array([0.05, 0.5, 0.0, 2.0])  # last entry outside the domain e < 1
    out = ev(spec, x=x, e=e, h=0.0)
    assert out.verdict is Verdict.CONFIRMED
    assert out.measured["c.in_domain"] == 3 and out.measured["c.worst_index"] == 1
    assert out.claims[0].quantity == 0.51 and out.claims[0].bound == 0.5
    x[1] = 0.49
    bad = ev(spec, x=x, e=e, h=0.0)
    assert bad.verdict is Verdict.COUNTEREXAMPLE and bad.measured["x[1]"] == 0.49
    none_inside = ev(spec, x=x, e=np.full(4, 2.0), h=0.0)
    assert none_inside.verdict is Verdict.INCONCLUSIVE and none_inside.claims[0].vacuous


def test_evaluation_round_trips_through_json():
    e = ev(toy(), x=0.5, e=0.5, h=0.0)
    again = Evaluation.from_dict(json.loads(json.dumps(e.to_dict())))
    assert again == e


def test_lambdified_bound_is_cached_and_names_shadow_sympy_builtins():
    c = Claim("c", "q", "<=", "N*E + S*I + Q")  # N, E, S, I, Q are sympy builtins
    assert c._bound is c._bound
    out, _ = c.evaluate(dict(q=0.0, N=2.0, E=3.0, S=1.0, I=1.0, Q=1.0))
    assert out.bound == 8.0


@hypothesis_settings("deterministic", max_examples=50)
@given(e=st.floats(0, 0.999), x=st.floats(0, 10))
def test_lambdified_bound_matches_sympy(e, x):
    spec = toy()
    out = ev(spec, x=x, e=e, h=0.0).claims[0]
    import sympy

    bound = spec.claims[0].sympy_bound()
    exact = float(bound.subs(sympy.Symbol("e", positive=True), e))
    assert out.bound == pytest.approx(exact, rel=1e-12, abs=1e-300)
    assert out.held is (x <= exact * (1 + 1e-9))


# ------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(relation="<"), r"relation '<' is not '<=' or '>='"),
        (dict(quantity="1x"), r"quantity '1x' is not a symbol name"),
        (dict(expression="2*e/("), r"cannot parse '2\*e/\('"),
        (dict(expression="foo(e)"), r"calls foo; allowed functions are sqrt"),
        (dict(domain=("e",)), r"'e' is not a relation 'lhs OP rhs'"),
        (dict(domain=("0 < e < 1",)), r"is not a relation"),
        (dict(errors=("z",)), r"error symbol 'z' does not occur in the bound"),
        (dict(rtol=2.0), r"rtol=2.0 must be in \[0, 1\)"),
        (dict(uncertainty={"x": "u"}), r"uncertainty given for 'x', which is not an error symbol"),
    ],
)
def test_bad_claims_are_rejected(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        toy(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(provenance="folklore"), r"provenance 'folklore' is not one of paper, derived"),
        (dict(proof=None), r"provenance 'derived' needs a proof pointer"),
        (dict(id="has space"), r"must be a non-empty string without whitespace, '/' or '~'"),
        (dict(id="a/robustness"), r"they mark robustness records and negative controls"),
        (dict(source=3), r"must be a Source\(paper, arxiv, theorem\) or a citation string"),
        (dict(claims=()), r"theorem 'toy' has no claims"),
    ],
)
def test_bad_specs_are_rejected(kwargs, match):
    base = dict(
        id="toy",
        title="t",
        source=SRC,
        provenance="derived",
        proof="p",
        assumptions=(),
        claims=toy().claims,
    )
    base.update(kwargs)
    with pytest.raises(InvalidInput, match=match):
        TheoremSpec(**base)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            ("H", "d", "h < 1", AssumptionStatus.NOT_CHECKABLE),
            r"a predicate is required exactly when the assumption is checkable",
        ),
        (("H", "d", None, AssumptionStatus.CHECKED), r"a predicate is required exactly"),
        (("H", "d", "h", AssumptionStatus.CHECKED), r"'h' is not a relation"),
    ],
)
def test_bad_assumptions_are_rejected(args, match):
    with pytest.raises(InvalidInput, match=match):
        Assumption(*args)


def test_missing_symbols_and_bad_shapes_raise():
    with pytest.raises(InvalidInput, match=r"missing measured symbols \['h'\]"):
        ev(toy(), x=1.0, e=0.5)
    with pytest.raises(InvalidInput, match=r"values must be scalars or 1-D arrays"):
        ev(toy(), x=np.ones((2, 2)), e=0.5, h=0.0)
    with pytest.raises(InvalidInput, match=r"dtype='int8' is not a floating dtype"):
        toy().evaluate(dict(x=1.0, e=0.5, h=0.0), seed=0, inputs={}, dtype="int8")


# --------------------------------------------------------------------- symbolic checks
def test_symbolic_check_proves_monotone_exact_and_domain():
    r = check_bound_symbolically(toy().claims[0])
    assert r.ok and r.decided
    assert r.exact_status == "proved" and r.monotone == {"e": "proved"}
    assert r.domain_status == {"e < 1": "proved"}


def test_symbolic_check_detects_wrong_direction_and_wrong_exact_value():
    wrong = check_bound_symbolically(
        Claim("w", "x", "<=", "1/(1 + e)", errors=("e",), exact_value="0")
    )
    assert wrong.monotone == {"e": "violated"} and wrong.exact_status == "violated"
    assert not wrong.ok and wrong.decided


def test_symbolic_check_says_undecided_without_reparametrization():
    r = check_bound_symbolically(toy(reparametrization={}).claims[0])
    assert r.monotone["e"] == "undecided" or r.domain_status["e < 1"] == "undecided"
    assert not r.decided


@pytest.mark.parametrize(
    "spec",
    [s for s in (*jswm.THEOREMS, *gd.THEOREMS) if s.provenance == "derived"],
    ids=lambda s: s.id,
)
def test_every_shipped_bound_is_proved_symbolically(spec):
    for claim in spec.claims:
        report = check_bound_symbolically(claim)
        assert report.decided and report.ok, report


def test_symbolic_check_rejects_non_claims():
    with pytest.raises(InvalidInput, match="needs a Claim, got str"):
        check_bound_symbolically("x <= 1")


# ---------------------------------------------------------------------------- registry
def test_registry_holds_the_catalogs_with_the_attributes_consumers_use():
    ids = [t.id for t in all_theorems()]
    assert ids == sorted(ids)
    assert {
        "jswm-3.1-nc1",
        "jswm-3.1-nc2",
        "jswm-3.1-nc3",
        "jswm-3.1-depth",
        "gd-balancedness-step",
    } <= set(ids)
    t = get_theorem("jswm-3.1-nc1")
    assert (t.provenance, t.proof, t.family) == ("derived", "docs/theorems.md#nc1", "jswm")
    assert t.source.arxiv == "2410.04887" and t.source.theorem == "Theorem 3.1"
    assert [a.name for a in t.assumptions] == ["H-interp", "H-rank"]
    assert all(isinstance(a.status, AssumptionStatus) and a.description for a in t.assumptions)
    assert [(c.name, c.relation) for c in t.claims] == [("nc1-eps1", "<="), ("nc1-sharp", "<=")]
    assert "sqrt(eps2)" in t.claims[0].expression


def test_every_catalog_module_is_a_builtin_catalog():
    names = registry.builtin_catalogs()
    assert {"ncverify.catalog.jswm", "ncverify.catalog.gd"} <= set(names)
    assert all(not n.rsplit(".", 1)[1].startswith("_") for n in names)


def test_unknown_theorem_suggests_close_ids():
    with pytest.raises(
        InvalidInput,
        match=r"no theorem 'jswm-3.1-nc4' is registered; did you "
        r"mean .*jswm-3.1-nc1",
    ):
        get_theorem("jswm-3.1-nc4")


def test_register_refuses_duplicates_unless_replace(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    spec = toy()
    assert register(spec) is spec and register(spec) is spec
    with pytest.raises(InvalidInput, match=r"theorem id 'toy' is already registered"):
        register(toy())
    other = toy()
    register(other, replace=True)
    assert get_theorem("toy") is other
    with pytest.raises(InvalidInput, match="register\\(\\) needs a TheoremSpec, got dict"):
        register({})


class _EntryPoint:
    def __init__(self, name, obj):
        self.name, self.value, self._obj = name, f"plugin:{name}", obj

    def load(self):
        if isinstance(self._obj, Exception):
            raise self._obj
        return self._obj


def test_plugin_catalogs_load_from_entry_points(monkeypatch):
    plugin = TheoremSpec(
        id="plugin-thm",
        title="p",
        source=SRC,
        provenance="qualitative",
        assumptions=(),
        claims=(Claim("c", "x", ">=", "0"),),
    )
    seen = []

    def fake_entry_points(group):
        seen.append(group)
        return [_EntryPoint("mine", lambda: [plugin])]

    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_LOADED", False)
    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    assert get_theorem("plugin-thm") is plugin
    assert seen == ["ncverify.theorems"]
    assert get_theorem("jswm-3.1-nc2").id == "jswm-3.1-nc2"  # built-ins loaded too


def test_broken_plugin_is_reported_by_name(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_LOADED", False)
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [_EntryPoint("broken", ImportError("no module x"))]
    )
    with pytest.raises(
        NCVerifyError,
        match=r"entry point 'broken' \(plugin:broken\) in group "
        r"'ncverify.theorems' failed to load: ImportError",
    ):
        all_theorems()


def test_registry_and_specs_import_without_torch_or_sympy():
    code = (
        "import sys, ncverify.spec as s; s.all_theorems(); "
        "print('torch' in sys.modules, 'sympy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_plugin_returning_non_specs_is_reported(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_LOADED", False)
    monkeypatch.setattr(registry, "entry_points", lambda group: [_EntryPoint("odd", [1, 2])])
    with pytest.raises(NCVerifyError, match=r"'odd'.*catalog holds non-TheoremSpec objects"):
        all_theorems()


def test_check_merges_spec_and_assumption_measurements():
    calls = []

    def spec_measure(snapshot):
        calls.append("spec")
        return {"x": snapshot["x"], "e": 0.5}

    def h_measure(snapshot):
        calls.append("h")
        return {"h": snapshot["h"]}

    spec = TheoremSpec(
        id="m",
        title="m",
        source=SRC,
        provenance="qualitative",
        assumptions=(
            Assumption("H", "h below one", "h < 1", measurement=h_measure),
            Assumption("H2", "same measurement again", "h < 2", measurement=h_measure),
        ),
        claims=(Claim("c", "x", "<=", "2*e"),),
        measurement=spec_measure,
    )
    e = spec.check({"x": 0.7, "h": 0.2}, seed=4, inputs={"k": 1})
    assert e.verdict is Verdict.CONFIRMED and calls == ["spec", "h"]  # each function once
    assert e.measured == {"x": 0.7, "e": 0.5, "h": 0.2} and e.seed == 4


def test_per_sample_assumptions_must_hold_for_every_entry():
    spec = toy()
    ok = ev(spec, x=0.5, e=0.5, h=np.array([0.1, 0.9]))
    assert ok.verdict is Verdict.CONFIRMED and "[0.1 .. 0.9]" in ok.assumptions[0].rule
    out = ev(spec, x=0.5, e=0.5, h=np.array([0.1, 1.5]))
    assert out.verdict is Verdict.OUTSIDE and out.assumptions[0].measured == {}
