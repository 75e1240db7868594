"""``ncverify sweep``: the three studies end to end on the tiny preset, their report
directories (written with ncverify.report), and the skip-connection networks they train."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ncverify import InvalidInput
from ncverify.catalog.jswm import TRAINING_NC1
from ncverify.cli import main
from ncverify.cli.reproduce._figures import read_csv
from ncverify.cli.sweep import architectures, nc3_depth, wd_scaling
from ncverify.nets import DenseMLP, ResidualMLP, check_architecture
from ncverify.report import load_report

TINY = dict(preset="tiny", dataset="clusters", steps=20, seeds=1, progress=False)


def _evals(out):
    return load_report(out)["evaluations"]


def test_wd_scaling_holds_lambda_n_constant(tmp_path):
    r = wd_scaling(**TINY, out_dir=tmp_path, width_factors=(1, 2), weight_decay=0.004)
    out = tmp_path / "wd-scaling-clusters"
    N = r.config["num_samples"]
    configs = [json.loads(p.read_text())["config"] for p in sorted((out / "runs").glob("*.json"))]
    # n_1 = N is shared by both modes: 3 runs, not 4
    pairs = sorted((c["net"]["widths"][0], c["train"]["weight_decay"]) for c in configs)
    assert pairs == [(N, 0.004), (2 * N, 0.002), (2 * N, 0.004)]
    vals = np.asarray(r.data["nc1"], dtype=float)  # (modes, factors, seeds)
    assert vals.shape == (2, 2, 1) and vals[0, 0, 0] == vals[1, 0, 0]
    rows = read_csv(out / "figures" / "wd-scaling.csv")
    row = next(x for x in rows if x["metric"] == "kappa_WL" and x["mode"] == "lambda")
    assert float(row["seed_0"]) == r.data["kappa_WL"][1][int(row["width_factor"]) - 1][0]
    assert len(_evals(out)) == 3 and (out / "report.html").is_file()
    assert "## n₁ = 2N, λ·n₁ const" in (out / "summary.md").read_text()


def test_architectures_records_robustness_claim_rates(tmp_path):
    r = architectures(**TINY, out_dir=tmp_path, head_depth=2)
    out = tmp_path / "architectures-clusters"
    ids = {e["architecture"]: e["theorem_id"] for e in _evals(out)}
    assert ids == {
        "pyramidal": "jswm-4.4",
        "residual": "jswm-4.4/robustness",
        "dense": "jswm-4.4/robustness",
    }
    rates = r.data["claim_rates"]
    for kind in ("pyramidal", "residual", "dense"):
        (entry,) = rates[kind].values()
        assert sum(entry["verdicts"].values()) == 1
        assert set(entry["claims"]) == {c.name for c in TRAINING_NC1.claims}
    # the residual and dense nets do not declare their widths: Assumption 4.1 not checkable
    residual = next(e for e in _evals(out) if e["architecture"] == "residual")
    wide = next(a for a in residual["assumptions"] if a["name"] == "wide_first_layer")
    assert wide["status"] == "not_checkable"
    claims = read_csv(out / "figures" / "architectures-claims.csv")
    assert {c["architecture"] for c in claims} == {"pyramidal", "residual", "dense"}
    summary = (out / "summary.md").read_text()
    assert "## residual" in summary and "jswm-4.4/robustness" in summary


def test_nc3_depth_records_trajectories(tmp_path):
    r = nc3_depth(**TINY, out_dir=tmp_path, head_depths=(1, 3))
    traj = np.asarray(r.data["trajectory"]["nc3_mean"], dtype=float)
    assert traj.shape == (2, 1, len(r.data["record_steps"]))
    final = np.asarray(r.data["nc3_mean"], dtype=float)
    assert np.array_equal(traj[:, :, -1], final)  # the last record is the final value
    worst = np.asarray(r.data["nc3_worst"], dtype=float)
    assert (worst <= final + 1e-15).all() and (final <= 1).all()
    png = tmp_path / "nc3-depth-clusters" / "figures" / "nc3-depth.png"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_sweep_cli_and_usage_errors(tmp_path, capsys):
    rc = main(
        [
            "sweep",
            "nc3-depth",
            "--preset",
            "tiny",
            "--dataset",
            "clusters",
            "--steps",
            "10",
            "--seeds",
            "1",
            "--head-depths",
            "2",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    report = load_report(tmp_path / "nc3-depth-clusters")
    assert report["command"][:3] == ["ncverify", "sweep", "nc3-depth"]
    bad = [
        "sweep",
        "architectures",
        "--preset",
        "tiny",
        "--head-depth",
        "0",
        "--out",
        str(tmp_path),
    ]
    assert main(bad) == 2
    assert "head_depth=(0,); they must be integers >= 1" in capsys.readouterr().err
    assert main(["sweep", "wd-scaling", "--first-width", "5", "--out", str(tmp_path)]) == 2
    assert "wd-scaling sets the first width itself" in capsys.readouterr().err
    with pytest.raises(InvalidInput, match="architectures \\['vgg'\\]"):
        architectures(**TINY, out_dir=tmp_path, kinds=("vgg",))


# ----------------------------------------------------------------------------- networks
@pytest.mark.parametrize("cls", [ResidualMLP, DenseMLP])
def test_skip_networks_satisfy_the_protocol(cls):
    net = cls(6, [10, 10, 10], [7], 3, "relu", seed=1)
    info = check_architecture(net, input_shape=(6,), num_classes=3)
    assert info.num_head_layers == 2 and info.nonlinear_widths is None
    expected = (10, 10, 10, 7, 3) if cls is ResidualMLP else (10, 20, 30, 7, 3)
    assert info.feature_widths == expected and info.slope_range == (0.0, 1.0)
    again = cls(6, [10, 10, 10], [7], 3, "relu", seed=1)
    assert all(torch.equal(a, b) for a, b in zip(net.weights(), again.weights(), strict=True))


def test_skip_connections_compute_what_they_say():
    X = torch.randn(5, 4, dtype=torch.float64)
    res = ResidualMLP(4, [6, 6], [], 2, "relu", seed=0)
    Z1 = torch.relu(X @ res.weights()[0].T)
    Z2 = Z1 + torch.relu(Z1 @ res.weights()[1].T)
    assert torch.allclose(res.layer_features(X)[1], Z2)
    dense = DenseMLP(4, [6, 3], [], 2, "relu", seed=0)
    D1 = torch.relu(X @ dense.weights()[0].T)
    D2 = torch.cat([D1, torch.relu(D1 @ dense.weights()[1].T)], dim=1)
    assert torch.allclose(dense.layer_features(X)[1], D2)
    with pytest.raises(InvalidInput, match="identity skips need equal widths"):
        ResidualMLP(4, [6, 5], [], 2, seed=0)
