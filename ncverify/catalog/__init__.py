"""Built-in theorem catalogs (each module exposes ``THEOREMS``; see ``ncverify.spec``).

* :mod:`ncverify.catalog.jswm` -- JSWM Theorem 3.1 (collapse from interpolation and
  balancedness) as explicit, derived bounds.
* :mod:`ncverify.catalog.gd` -- exact invariants of gradient descent with weight
  decay on linear pairs, and the representation cost of a linear head.

Importing a catalog imports neither torch nor sympy.
"""
