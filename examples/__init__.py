"""Example architecture plug-ins for ncverify (copy one to start your own).

This folder is a package so that, run from the repository root,
``ncverify check --arch examples.residual_mlp:factory`` and
``pytest theorems/ --ncverify-arch examples.conv_digits:factory`` find the factories.
See docs/architectures.md.
"""
