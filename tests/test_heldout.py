"""Held-out adversarial instances (``tests/_heldout.py``: generators independent of the
package's strategies) for every claim of Theorem 3.1 and of the gradient-descent specs.

Per claim family, ``COUNT`` instances (300 in CI, 3000 with ``NCVERIFY_PROFILE=thorough``), a
fifth of them float32 copies, judged by ``spec.check`` exactly as the theorem suite does. Asserted:

* no failing verdict (no counterexample, no unexplained failure): a true counterexample would
  be a bug in a derived bound, a false one a bug in a measurement;
* every float failure was re-measured in high precision (``TheoremSpec.remeasure``) and none
  survived: each shows up as a claim ``held=None``, ``certified=False`` with the reason
  ``rounding artefact: ...``;
* artefacts are rare (at most 1% of the instances per family): an artefact means a float
  measurement was judged beyond its accuracy, a measurement bug to fix at its root. Known
  kinds (docs/theorems.md#remeasure): none left after the conditioning-aware uncertainties of
  ``measure_last_pair`` (nc2-sharp at κ(Z̄_{L-1}) ≈ 1e13 was one: its κ measured to 1e-4).
"""

from __future__ import annotations

import collections

import _heldout as H
import numpy as np
import pytest
import torch

from ncverify.catalog import gd, jswm

FAMILIES = {
    "last-pairs": (H.last_pair, (jswm.NC1, jswm.NC2, jswm.NC3)),
    "heads": (H.head, (jswm.DEPTH, gd.REPRESENTATION_COST, gd.REPRESENTATION_COST_ATTAINED)),
    "gd-steps": (H.gd_step, (gd.BALANCEDNESS_STEP,)),
    "stationary-points": (H.stationary_point, (gd.NEAR_STATIONARY,)),
}

#: the largest fraction of instances of a family with a rounding artefact
MAX_ARTEFACTS = 0.01


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_held_out_instances_give_no_false_verdict(family):
    make, specs = FAMILIES[family]
    rng = np.random.default_rng(sum(map(ord, family)))
    verdicts: collections.Counter = collections.Counter()
    artefacts: collections.Counter = collections.Counter()
    for i in range(H.COUNT):
        dtype = torch.float32 if i % 5 == 4 else torch.float64
        inst = make(rng, dtype=dtype)
        for spec in specs:
            ev = spec.check(inst, seed=i, inputs=inst.inputs)
            verdicts[ev.verdict.value] += 1
            assert not ev.fails, (spec.id, ev.reason, inst.inputs)
            for c in ev.claims:
                assert c.held is not False or ev.verdict.value == "outside", (spec.id, c)
                if c.reason.startswith("rounding artefact"):
                    assert c.held is None and c.certified is False, c
                    artefacts[(spec.id, c.name, inst.inputs.get("kind"), inst.inputs["dtype"])] += 1
    assert sum(artefacts.values()) <= MAX_ARTEFACTS * H.COUNT, artefacts
    # the instances are not vacuous: most are judged in scope
    assert verdicts["confirmed"] >= 0.3 * H.COUNT * len(specs), verdicts
