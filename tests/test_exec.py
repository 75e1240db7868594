"""Tests of ncverify.exec without Ray: run configurations, the pure run function, the local
executor, checkpoints and the address check (the Ray executor: tests/test_exec_ray.py)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import socket
import subprocess
import sys
import threading

import pytest
import torch
from _exec_cases import differences, small_config

from ncverify import InvalidInput
from ncverify.errors import BackendError
from ncverify.exec import (
    DataSpec,
    LocalExecutor,
    NetworkSpec,
    RunConfig,
    RunStore,
    check_ray_address,
    execute_run,
    execute_runs,
    get_executor,
    run_key,
    sharpness_of,
    training_run,
)
from ncverify.train import TrainingConfig, train


def test_importing_the_package_loads_neither_torch_nor_ray():
    code = (
        "import sys, ncverify.exec as e; e.get_executor; e.check_ray_address; e.run_key; "
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- configurations
def test_a_config_is_picklable_and_its_key_is_a_function_of_its_contents():
    c = small_config(3)
    assert pickle.loads(pickle.dumps(c)) == c
    assert run_key(pickle.loads(pickle.dumps(c))) == c.key == run_key(small_config(3))
    changed = [
        small_config(4),
        small_config(3, steps=201),
        small_config(3, lr=0.2000000001),
        small_config(3, sharpness=True),
        dataclasses.replace(c, threads=2),
        dataclasses.replace(c, tags=(("sweep", "a"),)),
        dataclasses.replace(c, network=dataclasses.replace(c.network, seed=0)),
    ]
    assert len({c.key, *(x.key for x in changed)}) == 1 + len(changed)


def test_the_key_is_the_same_in_another_process():
    code = (
        "import sys; sys.path.insert(0, 'tests'); from _exec_cases import small_config; "
        "print(small_config(3).key)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )  # fmt: skip
    assert out.stdout.strip() == small_config(3).key


def test_a_key_refuses_objects_without_a_stable_identity():
    with pytest.raises(
        InvalidInput, match=r"only dataclasses, tuples, dicts and plain values; got Tensor"
    ):
        run_key({"x": torch.zeros(2)})  # fmt: skip


def test_config_knows_its_gpu_request_and_its_shape():
    c = small_config(0)
    assert c.num_gpus == 0
    assert (
        dataclasses.replace(c, training=TrainingConfig(0.1, 0.0, 1, device="cuda:0")).num_gpus == 1
    )
    assert c.shape_key() == small_config(1).shape_key() != small_config(0, steps=7).shape_key()
    inputs = c.inputs()
    json.dumps(inputs)  # JSON-safe
    assert inputs["training"]["seed"] == 0 and inputs["data"]["seed"] == 0


def _with(**changes):
    return lambda: dataclasses.replace(small_config(0), **changes)


_GC = "gaussian_clusters"
_BAD = [
    (lambda: DataSpec("mnist", 0, 3, 4, 8), r"builder='mnist'; use one of gaussian_clusters, digi"),
    (
        lambda: DataSpec(_GC, 0, 3, 4),
        r"input_dim \(gaussian_clusters\) must be an int >= 1, got No",
    ),
    (lambda: DataSpec(_GC, -1, 3, 4, 8), r"DataSpec.seed must be an int >= 0, got -1"),
    (lambda: DataSpec(_GC, 0, 3, 4, 8, cluster_std=math.nan), r"cluster_std must be a finite num"),
    (lambda: NetworkSpec("pyramidal", 8, 3, 0), r"pyramidal NetworkSpec needs at least one nonlin"),
    (lambda: NetworkSpec("pyramidal", 8, 3, 0, widths=[16]), r"widths must be a tuple of positiv"),
    (lambda: NetworkSpec("mynets:build", 8, 3, 0), r"plug-in architecture: give num_samples"),
    (
        _with(data=DataSpec(_GC, 0, 3, 4, 9)),
        r"network's input shape \(8,\) differs",
    ),
    (lambda: DataSpec("for_shape", 0, 3, 4), r"DataSpec.input_shape \(for_shape\) must be a tuple"),
    (lambda: DataSpec("for_shape", 0, 3, 4, input_shape=()), r"needs a non-empty input_shape"),
    (
        lambda: NetworkSpec("m:f", 64, 3, 0, num_samples=12, input_shape=(1, 8, 7)),
        r"input_shape=\(1, 8, 7\) has 56 entries, input_dim=64",
    ),
    (
        lambda: NetworkSpec("pyramidal", 64, 3, 0, widths=(8,), input_shape=(1, 8, 8)),
        r"a non-empty shape, for plug-in architectures only",
    ),
    (_with(data=DataSpec(_GC, 0, 4, 4, 8)), r"the network has num_classes=3, the data 4"),
    (_with(training={"lr": 0.1}), r"RunConfig.training must be a TrainingConfig, got dict"),
    (_with(threads=0), r"RunConfig.threads must be an int >= 1, got 0"),
    (_with(tags=("a",)), r"RunConfig.tags must be a tuple of \(name, value\)"),
]


@pytest.mark.parametrize(("make", "message"), _BAD)
def test_bad_configurations_are_refused_with_the_rule(make, message):
    with pytest.raises(InvalidInput, match=message):
        make()


# ----------------------------------------------------------------------------- the run function
def test_execute_run_is_a_pure_function_of_the_config_with_plain_results():
    c = small_config(5, sharpness=True)
    a, b = execute_run(c), execute_run(c)
    assert differences(a, b) == []
    assert a["key"] == c.key and a["outcome"] == "completed"
    assert all(type(v).__module__ == "numpy" for v in a["weights"].values())
    assert sharpness_of(a).value > 0
    # negative control: the comparison sees a different training seed... and a different init
    assert differences(a, execute_run(small_config(6, sharpness=True)))
    other_init = dataclasses.replace(c, network=dataclasses.replace(c.network, seed=1))
    assert "/weights" in " ".join(differences(a, execute_run(other_init)))


def test_execute_run_equals_training_in_process_bit_for_bit():
    c = small_config(2)
    data = c.data.build()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        direct = train(c.network.build(), data.X, data.y, c.training)
    finally:
        torch.set_num_threads(before)
    result = execute_run(c)
    for name, value in direct.network.state_dict().items():
        assert value.numpy().tobytes() == result["weights"][name].tobytes(), name
    assert direct.final == result["final"]
    # the result turned back into a TrainingRun measures and judges like the original run
    from ncverify.catalog.jswm import TRAINING_NC1, TrainedNetwork, measure_trained_network

    rebuilt = training_run(c, result)
    m1 = measure_trained_network(TrainedNetwork(direct, nc1_tolerance=0.1))
    m2 = measure_trained_network(TrainedNetwork(rebuilt, nc1_tolerance=0.1))
    assert differences(m1, m2) == []
    v1 = TRAINING_NC1.evaluate(m1, seed=0, inputs={}, unmeasured="undecided", dtype="float64")
    v2 = TRAINING_NC1.evaluate(m2, seed=0, inputs={}, unmeasured="undecided", dtype="float64")
    assert v1.verdict == v2.verdict and v1.to_dict()["claims"] == v2.to_dict()["claims"]


def test_training_run_refuses_a_result_of_another_configuration():
    with pytest.raises(InvalidInput, match=r"does not belong to configuration"):
        training_run(small_config(1), execute_run(small_config(0, steps=5)))


def test_a_plug_in_network_runs_from_its_name():
    c = small_config(0, steps=30)
    plug = dataclasses.replace(
        c,
        network=NetworkSpec("examples.residual_mlp:factory", 8, 3, seed=4, num_samples=12),
    )
    result = execute_run(plug)
    assert result["outcome"] == "completed"
    assert training_run(plug, result).network.num_classes == 3


def test_a_plug_in_for_images_is_trained_on_images():
    shape = (1, 8, 8)
    images = RunConfig(
        DataSpec("for_shape", 0, 3, 4, input_shape=shape),
        NetworkSpec(
            "examples.conv_digits:factory", 64, 3, seed=4, num_samples=12, input_shape=shape
        ),
        small_config(0, steps=5).training,
    )
    result = execute_run(images)
    assert result["outcome"] == "completed"
    assert tuple(training_run(images, result).X.shape) == (12, *shape)


# ----------------------------------------------------------------------------- local executor
def test_local_executor_keeps_order_runs_duplicates_once_and_groups_by_shape():
    configs = [small_config(i, steps=s) for i, s in ((0, 20), (1, 30), (2, 20), (0, 20))]
    calls: list[list[str]] = []

    def batch(cs):
        calls.append([c.key for c in cs])
        return execute_runs(cs)

    ex = LocalExecutor()
    results = ex.map(execute_run, configs, batch=batch)
    assert [r["key"] for r in results] == [c.key for c in configs]
    assert ex.executed == 3  # the repeated configuration ran once
    assert sorted(map(len, calls)) == [1, 2]  # two shapes (steps 20 and 30)
    single = LocalExecutor().map(execute_run, configs)
    assert all(differences(a, b) == [] for a, b in zip(results, single, strict=True))


def test_a_batch_function_must_return_one_result_per_configuration():
    with pytest.raises(InvalidInput, match=r"returned 1 results for 2 configurations"):
        LocalExecutor().map(None, [small_config(0), small_config(1)], batch=lambda cs: [0])


def test_the_store_checkpoints_each_run_and_a_second_map_runs_nothing(tmp_path):
    configs = [small_config(i, steps=20) for i in range(3)]
    seen = []
    first = LocalExecutor()
    out1 = first.map(execute_run, configs, store=tmp_path, on_result=lambda c, r: seen.append(c))
    assert first.executed == 3 and len(RunStore(tmp_path)) == 3 and len(seen) == 3
    second = LocalExecutor()
    out2 = second.map(execute_run, [*configs, small_config(9, steps=20)], store=tmp_path)
    assert second.executed == 1
    assert all(differences(a, b) == [] for a, b in zip(out1, out2, strict=False))


def test_the_store_ignores_records_it_cannot_trust(tmp_path):
    store, c = RunStore(tmp_path), small_config(0, steps=5)
    path = store.put(c, {"x": 1})
    assert store.get(c) == {"x": 1}
    record = pickle.loads(path.read_bytes())
    path.write_bytes(pickle.dumps({**record, "version": "0.0.0-other"}))
    assert store.get(c) is None  # written by another version: the run is redone
    path.write_bytes(b"\x80truncated")
    assert store.get(c) is None
    path.write_bytes(pickle.dumps({**record, "config": "something else"}))
    assert store.get(c) is None  # a key collision is not a result


def test_a_store_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InvalidInput, match=r"exists and is not a directory"):
        RunStore(tmp_path / "f")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "dask"}, r"unknown backend 'dask'; choose one of local, ray"),
        (
            {"backend": "local", "address": "h:1"},
            r"the local backend takes no options, got address",
        ),
    ],
)
def test_get_executor_refuses_bad_arguments(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        get_executor(**kwargs)


# ----------------------------------------------------------------------------- addresses
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["headnode", "host:99999", "http://h:1", "h:1:2", ""])
def test_a_malformed_address_is_refused(address):
    with pytest.raises(
        InvalidInput, match=r"is not of the form host:port, ray://host:port or 'auto'"
    ):
        check_ray_address(address)  # fmt: skip


def test_an_address_where_nothing_listens_is_refused_naming_it():
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(BackendError, match=rf"Ray address '{address}' is unreachable \(.*refused"):
        check_ray_address(address, timeout=2)


def test_a_silent_service_is_refused_after_the_time_limit():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    address = f"127.0.0.1:{server.getsockname()[1]}"
    try:
        with pytest.raises(BackendError, match=rf"'{address}': no answer within 0.5 s"):
            check_ray_address(address, timeout=0.5)
    finally:
        server.close()


def test_a_service_that_is_not_grpc_is_refused():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    address = f"127.0.0.1:{server.getsockname()[1]}"

    def answer():
        conn, _ = server.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    try:
        with pytest.raises(BackendError, match=r"is not a Ray head \(it did not answer as a gRPC"):
            check_ray_address(address, timeout=5)
    finally:
        t.join(5)
        server.close()


def test_none_and_auto_are_left_to_ray():
    assert check_ray_address(None) is None and check_ray_address("auto") == "auto"


# ----------------------------------------------------------------------------- entry points
def test_ncverify_report_with_an_unreachable_address_exits_2_naming_it_within_seconds(tmp_path):
    address = f"127.0.0.1:{_closed_port()}"
    cmd = [sys.executable, "-m", "ncverify.cli", "report", "--backend", "ray", "--address", address]
    proc = subprocess.run(
        [*cmd, "--out", str(tmp_path)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )  # the time limit is the check: Ray itself would wait for minutes
    assert proc.returncode == 2, proc.stderr
    assert f"Ray address '{address}' is unreachable" in proc.stderr
    assert not (tmp_path / "pytest.log").exists()  # refused before pytest started


def test_ncverify_check_refuses_an_address_without_the_ray_backend(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ncverify.cli", "check", "--arch", "examples.residual_mlp:factory",
         "--address", "h:1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "--address h:1 needs --backend ray" in proc.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ncverify-backend=ray", "--ncverify-ray-address=ADDR"], "Ray address 'ADDR' is unr"),
        (["--ncverify-ray-address=ADDR"], "--ncverify-ray-address=ADDR needs --ncverify-backend"),
        (["--ncverify-backend=dask"], "unknown backend 'dask'; choose one of local, ray"),
        (["--ncverify-backend=ray", "--ncverify-ray-address=nohost"], "is not of the form host"),
    ],
)
def test_pytest_backend_options_are_checked_when_pytest_configures(tmp_path, options, message):
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    address = f"127.0.0.1:{_closed_port()}"
    options = [o.replace("ADDR", address) for o in options]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path), *options],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode in (2, 4), proc.stdout + proc.stderr  # usage error, no test ran
    assert message.replace("ADDR", address) in proc.stdout + proc.stderr


def test_the_executor_fixture_is_the_local_executor_by_default(pytester):
    pytester.makepyfile(
        """
        def test_x(ncverify_executor):
            from ncverify.exec import LocalExecutor
            assert type(ncverify_executor) is LocalExecutor
            assert ncverify_executor.map(abs, [-1, 2]) == [1, 2]
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_current_executor_follows_the_environment(monkeypatch):
    from ncverify.exec import BACKEND_ENV, RAY_ADDRESS_ENV, current_executor

    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.delenv(RAY_ADDRESS_ENV, raising=False)
    assert isinstance(current_executor(), LocalExecutor)
    assert current_executor() is current_executor()  # one per process
    monkeypatch.setenv(RAY_ADDRESS_ENV, "h:1")
    with pytest.raises(InvalidInput, match=r"NCVERIFY_RAY_ADDRESS='h:1' is set but"):
        current_executor()


def test_fields_left_out_of_equality_are_left_out_of_the_key():
    @dataclasses.dataclass(frozen=True)
    class WithArrays:
        fingerprint: str
        arrays: object = dataclasses.field(default=None, compare=False)

    a, b = WithArrays("abc", torch.zeros(2)), WithArrays("abc", torch.ones(2))
    assert run_key(a) == run_key(b) != run_key(WithArrays("abd"))
