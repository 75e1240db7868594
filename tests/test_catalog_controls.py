"""Every claim of every registered theorem has a negative control (docs/theorems.md#controls).

Walks the registry (built-in catalogue and plug-ins), so a family that adds a theorem adds its
controls too. A theorem whose controls are still to come is listed in ``PENDING`` with the
reason; it is expected to fail here, strictly (an xpass fails, so the entry must be removed
once its controls land).
"""

from __future__ import annotations

import pytest

from ncverify.spec import all_theorems

#: theorems whose controls are still to come, with the reason (strict xfail)
PENDING: dict[str, str] = {}


def _params():
    for spec in all_theorems():
        marks = ()
        if spec.id in PENDING:
            marks = (pytest.mark.xfail(strict=True, reason=PENDING[spec.id]),)
        yield pytest.param(spec, id=spec.id, marks=marks)


@pytest.mark.parametrize("spec", list(_params()))
def test_every_claim_has_a_negative_control(spec):
    covered = {c.claim for c in spec.controls if c.claim is not None}
    missing = [c.name for c in spec.claims if c.name not in covered]
    assert not missing, f"{spec.id}: claims without a negative control: {missing}"


@pytest.mark.parametrize("spec", list(_params()))
def test_every_control_builds_a_different_theorem(spec):
    """A control's variant differs from the theorem (a bound, a relation or a predicate)."""
    assert spec.controls, f"{spec.id} has no negative control"
    for control in spec.controls:
        variant = spec.variant(control)
        changed = [
            (a.predicate, b.predicate)
            for a, b in zip(spec.assumptions, variant.assumptions, strict=True)
            if a.predicate != b.predicate
        ] + [
            (a.expression, b.expression)
            for a, b in zip(spec.claims, variant.claims, strict=True)
            if (a.expression, a.relation) != (b.expression, b.relation)
        ]
        assert changed, f"{spec.id}~{control.name} changes nothing"


def test_a_weakened_hypothesis_weakens_the_claim_domains_that_restate_it():
    from ncverify.catalog import jswm

    variant = jswm.NC1.variant("interp-sqrt-N")
    (interp,) = [a for a in variant.assumptions if a.name == "H-interp"]
    assert interp.predicate == "eps1 < sqrt(N)"
    assert variant.claims[0].domain == ("eps1 < sqrt(N)", "sK_WL > 0")
    assert variant.claims[1].domain == jswm.NC1.claims[1].domain


def test_claim_domains_restate_their_hypotheses():
    """nc1-eps1 and nc2-eps1 are proved under H-interp / H-interp-delta, restated as their
    domains (so a weakened hypothesis reaches them, and a changed one is noticed here)."""
    from ncverify.catalog import jswm

    for spec, hypothesis in ((jswm.NC1, "H-interp"), (jswm.NC2, "H-interp-delta")):
        (a,) = [a for a in spec.assumptions if a.name == hypothesis]
        assert spec.claims[0].domain[0] == a.predicate, (spec.id, a.predicate)
