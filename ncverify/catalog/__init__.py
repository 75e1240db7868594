"""Built-in theorem families, one sub-package per paper (each exposes ``THEOREMS``).

* :mod:`ncverify.catalog.jswm` -- Jacot, Súkeník, Wang, Mondelli (ICLR 2025): Theorem 3.1
  as explicit, derived bounds; Theorem 4.4, Theorem 5.2 and Proposition 5.3 on training runs.
* :mod:`ncverify.catalog.gd` -- exact identities of gradient descent with weight decay on
  linear pairs, and the representation cost of a linear head.

A family keeps its snapshots (pure data), measurements (torch), specs (pure data) and the
hypothesis strategies that feed them apart, in modules of its own package; the registry
(:mod:`ncverify.spec`) finds every public sub-package here by name. Importing a family
imports neither torch nor sympy.
"""
