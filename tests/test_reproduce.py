"""``ncverify reproduce``: JSWM experiments end to end (tiny preset) and their data files.

The data files must reproduce the plotted numbers: every CSV row holds the plotted mean
and std and the per-seed values they come from; the tests re-read the files and compare
them with the values returned and with statistics recomputed from the per-seed columns.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from ncverify import InvalidInput
from ncverify.cli.reproduce._data import Progress, get_preset, load_dataset
from ncverify.cli.reproduce._figures import plot_layer_metrics, read_csv, seed_stats
from ncverify.cli.reproduce._runs import (
    LR_DROP_AT,
    jswm_head_depth,
    jswm_layers,
    lr_at,
    predicted_decay,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _f(text: str) -> float:
    return float(text)


def _same(a, b, *, rtol=1e-12) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=0.0, equal_nan=True))


def _seed_cols(row: dict) -> list[float]:
    keys = sorted((k for k in row if k.startswith("seed_")), key=lambda k: int(k[5:]))
    return [_f(row[k]) for k in keys]


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    out = tmp_path_factory.mktemp("layers")
    return jswm_layers(preset="tiny", out_dir=out, progress=False), out


@pytest.fixture(scope="module")
def head_depth(tmp_path_factory):
    out = tmp_path_factory.mktemp("head_depth")
    result = jswm_head_depth(
        preset="tiny", dataset="clusters", out_dir=out, progress=False, head_depths=(1, 2, 3)
    )
    return result, out


# ----------------------------------------------------------------------------- jswm-layers
def test_layers_writes_every_figure_with_its_data(layers):
    result, out = layers
    names = {p.name for p in out.iterdir() if p.is_file()}
    for stem in ("metrics", "balancedness", "gram"):
        base = f"jswm-layers-digits-{stem}"
        assert f"{base}.png" in names and f"{base}.csv" in names
        assert (out / f"{base}.png").read_bytes()[:8] == PNG_MAGIC
    assert "jswm-layers-digits.json" in names
    assert sorted(result.files) == sorted(str(out / n) for n in names)
    assert result.config["depth"] == 9 and result.data["layers"] == [3, 4, 5, 6, 7, 8, 9]
    # one result file per seed, written as each finished
    runs = sorted(p.name for p in (out / "runs" / "jswm-layers-digits").iterdir())
    assert runs == [f"seed{s}.json" for s in range(get_preset("tiny").seeds)]
    assert result.data["run_files"] == [str(out / "runs" / "jswm-layers-digits" / r) for r in runs]


def test_layers_metric_csv_reproduces_the_plotted_numbers(layers):
    result, out = layers
    rows = read_csv(out / "jswm-layers-digits-metrics.csv")
    per_layer = {m: np.asarray(v, dtype=float) for m, v in result.data["per_layer"].items()}
    assert len(rows) == 4 * 7
    for row in rows:
        seeds = np.asarray(_seed_cols(row))
        j = result.data["layers"].index(int(row["layer"]))
        assert _same(seeds, per_layer[row["metric"]][:, j])
        mean, std = seed_stats(seeds[:, None])
        assert _same([_f(row["mean"]), _f(row["std"])], [mean[0], std[0]])
    # the last layer has no upper neighbour: its balancedness is undefined, not 0
    assert np.isnan(per_layer["balancedness"][:, -1]).all()
    assert np.isfinite(per_layer["nc1"]).all() and (per_layer["nc2"] >= 1 - 1e-9).all()


def test_layers_trajectory_csv_and_prediction(layers):
    result, out = layers
    data, cfg = result.data, result.config
    rows = read_csv(out / "jswm-layers-digits-balancedness.csv")
    traj = np.asarray(data["pair_balancedness"], dtype=float)  # (seeds, records, pairs)
    decay = predicted_decay(
        data["record_steps"], lr=cfg["lr"], weight_decay=cfg["weight_decay"], steps=cfg["steps"]
    )
    assert data["pair_is_linear"] == [p > 5 for p in data["pairs"]]
    for row in rows:
        j, t = data["pairs"].index(int(row["pair"])), data["record_steps"].index(int(row["step"]))
        assert _same(_seed_cols(row), traj[:, t, j])
        # prediction: the seeds' mean balancedness at step 0 times prod_s (1 - eta_s lambda)^2
        assert math.isclose(_f(row["predicted"]), np.mean(traj[:, 0, j]) * decay[t], rel_tol=1e-12)
    # the final record equals the per-layer balancedness measured after training
    per_layer = np.asarray(data["per_layer"]["balancedness"], dtype=float)
    assert _same(traj[:, -1, :], per_layer[:, :-1], rtol=1e-9)


def test_layers_gram_csv_and_json_summary(layers):
    result, out = layers
    rows = read_csv(out / "jswm-layers-digits-gram.csv")
    for label, G in result.data["grams"].items():
        G = np.asarray(G)
        got = np.zeros_like(G)
        for row in (r for r in rows if r["panel"] == label):
            got[int(row["row"]), int(row["col"])] = _f(row["value"])
        assert _same(got, G) and _same(G, G.T, rtol=1e-9)
        assert math.isclose(float(np.max(np.diag(G))), 1.0)
    summary = json.loads((out / "jswm-layers-digits.json").read_text())
    assert summary["config"]["seeds"] == get_preset("tiny").seeds
    assert _same(
        np.asarray(summary["data"]["per_layer"]["nc1"], dtype=float),
        result.data["per_layer"]["nc1"],
    )
    assert summary["wall_time_s"] == result.wall_time_s and summary["diverged"] == 0


def test_layers_training_obeys_the_exact_balancedness_recursion(layers):
    # spec §4: D+ = (1 - eta lambda)^2 D + eta^2 (G_{l+1}^T G_{l+1} - G_l G_l^T) at every step
    # for the head pairs (checked by ncverify.train); float64 rounding only
    result, _ = layers
    residual = np.asarray(result.data["max_recursion_residual"], dtype=float)
    assert residual.shape == (get_preset("tiny").seeds,) and (residual < 1e-12).all()


# ----------------------------------------------------------------------------- head depth
def test_head_depth_csv_reproduces_the_plotted_numbers(head_depth):
    result, out = head_depth
    data = result.data
    rows = read_csv(out / "jswm-head-depth-clusters-nc.csv")
    assert {r["metric"] for r in rows} == {"nc1", "nc2", "kappa_WL", "kappa_A_root", "accuracy"}
    assert len(rows) == 5 * 2 * 3
    for row in rows:
        i = data["weight_decays"].index(_f(row["weight_decay"]))
        j = data["head_depths"].index(int(row["head_depth"]))
        seeds = np.asarray(_seed_cols(row))
        assert _same(seeds, np.asarray(data[row["metric"]], dtype=float)[i, j])
        mean, std = seed_stats(seeds[:, None])
        assert _same([_f(row["mean"]), _f(row["std"])], [mean[0], std[0]])
    assert (out / "jswm-head-depth-clusters-gram.png").read_bytes()[:8] == PNG_MAGIC


def test_head_depth_one_linear_layer_has_kappa_A_equal_kappa_WL(head_depth):
    # with L2 = 1 the head's product A is W_L itself, so kappa(A)^(1/1) = kappa(W_L) exactly;
    # eps2 (a pair of head layers) is undefined there
    result, _ = head_depth
    d = result.data
    assert _same(np.asarray(d["kappa_A_root"])[:, 0], np.asarray(d["kappa_WL"])[:, 0])
    assert np.isnan(np.asarray(d["eps2"], dtype=float)[:, 0]).all()
    assert np.isfinite(np.asarray(d["eps2"], dtype=float)[:, 1:]).all()


# ----------------------------------------------------------------------------- pieces
def test_predicted_decay_is_the_product_of_per_step_factors():
    lr, wd, steps = 0.3, 0.01, 50
    direct, factor = [], 1.0
    for t in range(steps + 1):
        direct.append(factor)
        factor *= (1 - lr_at(t, lr=lr, steps=steps) * wd) ** 2
    assert _same(
        predicted_decay(range(steps + 1), lr=lr, weight_decay=wd, steps=steps), direct, rtol=1e-12
    )
    drop = int(LR_DROP_AT * steps)
    assert lr_at(drop - 1, lr=lr, steps=steps) == lr and lr_at(drop, lr=lr, steps=steps) == lr / 10


def test_figure_data_round_trip_with_a_diverged_seed(tmp_path):
    rng = np.random.default_rng(0)
    metrics = {m: rng.uniform(0.1, 2.0, size=(3, 4)) for m in ("nc1", "negativity")}
    metrics["nc1"][1] = np.nan  # a diverged run: left out of mean and std
    png, csv_path = plot_layer_metrics(
        tmp_path,
        "synthetic",
        layer_index=[2, 3, 4, 5],
        metrics=metrics,
        first_linear=4,
        title="synthetic",
    )
    assert png.read_bytes()[:8] == PNG_MAGIC
    for row in read_csv(csv_path):
        vals = metrics[row["metric"]][:, [2, 3, 4, 5].index(int(row["layer"]))]
        ok = vals[np.isfinite(vals)]
        assert _same(_seed_cols(row), vals)
        assert _same([_f(row["mean"]), _f(row["std"])], [ok.mean(), ok.std()])


def test_progress_bar_draws_only_when_enabled():
    quiet, loud = io.StringIO(), io.StringIO()
    for stream, enabled in ((quiet, None), (loud, True)):  # StringIO is not a TTY
        bar = Progress(4, "run", stream=stream, enabled=enabled)
        for _ in range(4):
            bar.advance()
        bar.close()
    assert quiet.getvalue() == ""
    assert "run [" in loud.getvalue() and "100%" in loud.getvalue()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(preset="huge"), "unknown preset 'huge'; choose one of tiny, small, gpu"),
        (dict(dataset="cifar"), "unknown dataset 'cifar'; choose one of digits, clusters, mnist"),
        (dict(n_per_class=1), "n_per_class=1; it must be an integer >= 2"),
        (dict(steps=0), "steps=0; it must be a positive integer"),
        (dict(lr=-0.1), "lr=-0.1; it must be a positive finite number"),
        (dict(activation="swish"), "activation='swish'; choose one of relu, gamma_tanh"),
        (dict(n_per_class=500), "only 174 samples of its smallest class|exceeds 174"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path, kwargs, match):
    args = dict(preset="tiny", out_dir=tmp_path, progress=False) | kwargs
    with pytest.raises(InvalidInput, match=match):
        jswm_layers(**args)
    assert not any(tmp_path.iterdir())


def test_datasets_are_balanced_and_unit_norm():
    X, y = load_dataset("clusters", n_per_class=4, seed=1, cluster_dim=6, cluster_classes=3)
    assert X.shape == (12, 6) and np.bincount(y.numpy()).tolist() == [4, 4, 4]
    assert _same(np.linalg.norm(X.numpy(), axis=1), np.ones(12), rtol=1e-12)


def test_cli_runs_and_reports_usage_errors(tmp_path, capsys):
    from ncverify.cli import main

    rc = main(
        [
            "reproduce",
            "jswm-head-depth",
            "--preset",
            "tiny",
            "--steps",
            "5",
            "--seeds",
            "1",
            "--dataset",
            "clusters",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert str(tmp_path / "jswm-head-depth-clusters-nc.png") in printed
    assert (tmp_path / "jswm-head-depth-clusters-nc.csv").is_file()
    assert (
        main(
            [
                "reproduce",
                "jswm-layers",
                "--preset",
                "tiny",
                "--subset",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "n_per_class=1" in capsys.readouterr().err
