"""The Ray executor on a real local Ray instance (one per test module: Ray takes seconds to
start): same bits as in-process runs, retries after a killed worker, resumption after a killed
driver, errors and GPU requests.

Ray is an optional extra. Where it is not installed these tests are skipped with a reason, but
only outside CI: with ``$CI`` set (``.ci/run`` sets it, and CI installs ``ncverify[ray]``) a
missing Ray fails the module loudly instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

try:
    import ray
except ImportError:
    if os.environ.get("CI"):
        raise  # CI installs ncverify[ray]: a missing Ray is a failure there
    pytest.skip(
        "Ray is not installed (pip install 'ncverify[ray]'); CI installs it and runs these tests",
        allow_module_level=True,
    )

from _exec_cases import differences, small_config

from ncverify.errors import BackendError, InvalidArchitecture
from ncverify.exec import (
    VERIFIED_ENV,
    LocalExecutor,
    NetworkSpec,
    RayExecutor,
    RunStore,
    execute_run,
    execute_runs,
    get_executor,
    sharpness_of,
    training_run,
)
from ncverify.train import TrainingConfig

TESTS = Path(__file__).resolve().parent
# the helpers below run in Ray workers, which cannot import this test module by name
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    """A local Ray instance with 2 CPUs for this module; its GCS address."""
    started = not ray.is_initialized()
    if started:
        ray.init(
            address="local",  # a new instance, not a cluster `ray start` left on this machine
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


def test_ray_gives_the_same_bits_and_verdicts_as_a_local_run(cluster):
    from ncverify.catalog.jswm import STABILITY, TRAINING_NC1, TrainedNetwork

    configs = [small_config(0, sharpness=True), small_config(1, steps=300)]
    plug = dataclasses.replace(
        configs[1], network=NetworkSpec("examples.residual_mlp:factory", 8, 3, 4, num_samples=12)
    )
    configs.append(plug)  # a plug-in found on the driver's working directory
    local = LocalExecutor().map(execute_run, configs)
    ex = RayExecutor()
    remote = ex.map(execute_run, configs)
    assert ex.executed == len(configs)
    assert {r["pid"] for r in remote}.isdisjoint({os.getpid()})  # ran in Ray workers
    for c, a, b in zip(configs, local, remote, strict=True):
        assert differences(a, b) == [], c
        for spec in (TRAINING_NC1, STABILITY):
            snaps = [
                TrainedNetwork(training_run(c, r), nc1_tolerance=0.1, sharpness=sharpness_of(r))
                for r in (a, b)
            ]
            evs = [
                spec.check(s, seed=0, inputs={}, unmeasured="undecided", dtype="float64").to_dict()
                for s in snaps
            ]
            assert evs[0] == evs[1]


def _killable(config):
    """Record each attempt; the victim's first attempt waits to be killed."""
    tags = dict(config.tags)
    markers = Path(tags["markers"])
    (markers / f"attempt.{config.key}.{os.getpid()}.{time.monotonic_ns()}").write_text("")
    if tags.get("victim") and not (markers / "killed").exists():
        (markers / "victim.pid").write_text(str(os.getpid()))
        time.sleep(120)  # killed long before
    return execute_run(config)


def test_a_killed_worker_is_retried_and_no_run_is_lost_or_duplicated(cluster, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    configs = [
        dataclasses.replace(
            small_config(i, steps=100),
            tags=(("markers", str(markers)), ("victim", i == 1)),
        )
        for i in range(4)
    ]

    def kill_victim():
        pid_file = markers / "victim.pid"
        deadline = time.monotonic() + 120
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        (markers / "killed").write_text("")
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_victim, daemon=True)
    killer.start()
    store = RunStore(tmp_path / "runs")
    results = RayExecutor(retries=2).map(_killable, configs, store=store)
    killer.join(10)
    assert (markers / "killed").exists()
    attempts = [p.name.split(".")[1] for p in markers.glob("attempt.*")]
    assert attempts.count(configs[1].key) == 2  # killed once, retried once
    assert sorted(set(attempts)) == sorted(c.key for c in configs)
    assert [r["key"] for r in results] == [c.key for c in configs]  # none lost, none twice
    assert sorted(store.keys()) == sorted(c.key for c in configs)
    assert differences(results[1], execute_run(configs[1])) == []  # the retried run's bits


def test_a_run_that_is_killed_every_time_is_reported_lost(cluster, tmp_path):
    """Negative control of the retry test: with no retries the killed run is lost, loudly."""
    markers = tmp_path / "markers"
    markers.mkdir()
    config = dataclasses.replace(
        small_config(7, steps=20), tags=(("markers", str(markers)), ("victim", True))
    )

    def kill_victim():
        pid_file = markers / "victim.pid"
        while not pid_file.exists():
            time.sleep(0.05)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)  # no "killed" marker: never spared

    threading.Thread(target=kill_victim, daemon=True).start()
    with pytest.raises(BackendError, match=rf"run {config.key} was lost after 0 retries"):
        RayExecutor(retries=0).map(_killable, [config])


_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from _exec_cases import small_config
from ncverify.exec import execute_run, get_executor

configs = [small_config(i, steps=150) for i in range(5)]
with get_executor("ray", address={address!r}, max_in_flight=1) as ex:
    ex.map(execute_run, configs, store={store!r})
print("finished")
"""


def test_a_restarted_driver_resumes_without_redoing_finished_runs(cluster, tmp_path):
    store_dir = tmp_path / "runs"
    script = tmp_path / "driver.py"
    script.write_text(
        textwrap.dedent(_DRIVER).format(tests=str(TESTS), address=cluster, store=str(store_dir))
    )
    env = {**os.environ, VERIFIED_ENV: cluster}  # this instance is known to answer
    driver = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and driver.poll() is None:
            if store_dir.is_dir() and len(list(store_dir.glob("*.pkl"))) >= 2:
                break
            time.sleep(0.05)
        assert driver.poll() is None, "the driver ended before it could be killed"
        driver.kill()  # the driver dies mid-sweep
    finally:
        driver.wait(30)
    before = {p.name: p.stat().st_mtime_ns for p in store_dir.glob("*.pkl")}
    assert 2 <= len(before) < 6
    configs = [small_config(i, steps=150) for i in range(5)]
    ex = RayExecutor()
    results = ex.map(execute_run, configs, store=store_dir)
    assert ex.executed == 5 - len(before)  # finished runs are not redone...
    assert all(
        (store_dir / name).stat().st_mtime_ns == mtime for name, mtime in before.items()
    )  # ...nor rewritten
    assert [r["key"] for r in results] == [c.key for c in configs]
    assert len(RunStore(store_dir)) == 5


def test_an_error_in_a_run_is_raised_with_its_type_after_earlier_results_are_stored(
    cluster, tmp_path
):
    good = small_config(0, steps=10)
    bad = dataclasses.replace(
        good, network=NetworkSpec("nosuch_module_xyz:factory", 8, 3, 0, num_samples=12)
    )
    store = RunStore(tmp_path)
    with pytest.raises(InvalidArchitecture, match=r"nosuch_module_xyz"):
        RayExecutor(max_in_flight=1).map(execute_run, [good, bad], store=store)
    assert store.keys() == [good.key]


def test_cuda_runs_ask_for_a_gpu_and_a_cluster_without_one_refuses_them(cluster):
    gpu_run = dataclasses.replace(
        small_config(0),
        training=TrainingConfig(lr=0.2, weight_decay=5e-3, steps=10, device="cuda"),
    )
    ex = RayExecutor(gpus_per_task=0.25)
    assert ex._options([gpu_run])["num_gpus"] == 0.25
    assert ex._options([small_config(0)])["num_gpus"] == 0
    with pytest.raises(
        BackendError, match=r"need a GPU \(device cuda\) but the Ray cluster has none"
    ):
        ex.map(execute_run, [gpu_run])


def test_runs_of_one_shape_travel_in_chunks_to_a_batch_function(cluster):
    configs = [small_config(i, steps=s) for i, s in ((0, 20), (1, 20), (2, 20), (3, 30))]
    ex = RayExecutor(chunk_size=2)
    results = ex.map(None, configs, batch=execute_runs)
    assert ex.executed == 4 and [r["key"] for r in results] == [c.key for c in configs]
    pids = {r["pid"] for r in results[:2]}  # the first chunk ran in one task, one process
    assert len(pids) == 1
    local = LocalExecutor().map(execute_run, configs)
    assert all(differences(a, b) == [] for a, b in zip(local, results, strict=True))


def test_by_default_a_group_of_one_shape_is_split_across_the_task_slots(cluster):
    configs = [small_config(i, steps=20) for i in range(4)]  # one shape; 2 CPUs
    results = RayExecutor().map(None, configs, batch=execute_runs)
    pids = [r["pid"] for r in results]
    assert pids[0] == pids[1] and pids[2] == pids[3]  # two chunks of two runs
    assert [r["key"] for r in results] == [c.key for c in configs]


def _runs(out) -> dict:
    """The per-run files of a sweep, without the timings."""
    runs = {}
    for path in sorted(out.glob("*/runs/*.json")):
        record = json.loads(path.read_text())
        for k in ("wall_time_s", "cpu_time_s"):
            record["result"].pop(k, None)
        runs[path.name] = record
    return runs


def test_ncverify_sweep_with_the_ray_backend_writes_the_same_runs(cluster, tmp_path, monkeypatch):
    from ncverify.cli import main
    from ncverify.exec import BACKEND_ENV, RAY_ADDRESS_ENV

    for name in (BACKEND_ENV, RAY_ADDRESS_ENV):  # `main` exports both: restore them after
        monkeypatch.setenv(name, "")  # (delenv alone records nothing for an absent variable)
        monkeypatch.delenv(name)
    args = ["sweep", "wd-scaling", "--preset", "tiny", "--dataset", "clusters", "--steps", "20",
            "--seeds", "1", "--width-factors", "1", "2"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    remote = [*args, "--out", str(tmp_path / "ray"), "--backend", "ray", "--address", cluster]
    assert main(remote) == 0
    local, ray_runs = _runs(tmp_path / "local"), _runs(tmp_path / "ray")
    assert len(local) == 3 and local == ray_runs  # every result, bit for bit (repr floats)
    assert main([*remote, "--jobs", "2"]) == 2  # --jobs is a local process pool: refused


def test_get_executor_joins_an_address_and_reports_the_cluster(cluster):
    with get_executor("ray", address=cluster) as ex:
        out = ex.map(execute_run, [small_config(3, steps=10)])
        info = ex.describe()
    assert out[0]["outcome"] == "completed"
    assert info["backend"] == "ray" and info["resources"]["CPU"] == 2.0
