"""Run reports: JSON schema and contents, md/HTML rendering, escaping, interruption, atomicity."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import types
from html.parser import HTMLParser

import pytest
from _ncverify_synthetic import SUITE

import ncverify
from ncverify.report import (
    atomic_write,
    build_report,
    conditional_sentences,
    environment,
    evaluations_from_report,
    format_verdict_table,
    render_html,
    render_markdown,
    write_report,
)
from ncverify.spec import AssumptionOutcome, ClaimOutcome, Evaluation


@pytest.fixture(autouse=True)
def _default_environment(monkeypatch):
    """Each test starts from the built-in profile/seed defaults, whatever the outer run uses."""
    for name in ("NCVERIFY_PROFILE", "NCVERIFY_SEED", "NCVERIFY_ARCH"):
        monkeypatch.delenv(name, raising=False)


HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = "\"'><img src=x onerror=alert(2)>&amp;"
# smallest valid PNG (1x1, grey)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module", autouse=True)
def _warm_imports():
    """Import the report's heavy dependencies once, outside pytester's module snapshots."""
    environment()
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.figure


def _evaluation(theorem, q, *, a_held=True, test_id="t.py::test", architecture=""):
    return Evaluation.build(
        theorem_id=theorem,
        source="synthetic",
        provenance="derived",
        assumptions=[
            AssumptionOutcome("H-a", "checked", a_held, {"q": q}),
            AssumptionOutcome("H-nc", "not_checkable", None),
        ],
        claims=[ClaimOutcome("c1", q, 1.0, "<=", held=q <= 1.0, expression="1")],
        inputs={"q": q},
        test_id=test_id,
        architecture=architecture,
        seed=1,
    )


def _tests(evaluations, *, theorem=None, outcome="passed", hypothesis=False):
    by = {}
    for e in evaluations:
        by.setdefault(e.test_id, []).append(e.to_dict())
    return [
        {
            "nodeid": k,
            "outcome": outcome,
            "duration": 0.1,
            "theorem": theorem,
            "hypothesis": hypothesis,
            "message": "",
            "evaluations": v,
        }
        for k, v in by.items()
    ]


def test_report_files_from_a_pytest_run(pytester):
    pytester.makepyfile(test_suite=SUITE)
    figures = pytester.path / "out" / "figures"
    figures.mkdir(parents=True)
    (figures / "extra-fig.png").write_bytes(PNG)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--ncverify-report=out",
        "--ncverify-seed=9",
        "--ncverify-profile=ci",
    )
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        ["ncverify report: out/report.html, out/report.md, out/report.json"]
    )
    out = pytester.path / "out"
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "ncverify-report" and report["schema_version"] == 2
    assert report["complete"] is True and report["incomplete_reasons"] == []
    assert (report["profile"], report["seed"], report["exitstatus"]) == ("ci", 9, 1)
    assert report["profile_settings"]["max_examples"] == 300
    assert report["started"] <= report["finished"]
    env = report["environment"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    for package in ("ncverify", "torch", "cvxpy", "sympy", "hypothesis"):
        assert env["packages"][package]
    assert "CLARABEL" in env["cvxpy_solvers"]
    assert env["machine"]["cpu_count"] == os.cpu_count()
    assert report["totals"] == {"tests": 5, "passed": 4, "failed": 1}
    ok = [e for e in report["evaluations"] if e["theorem_id"] == "syn-ok"]
    assert [e["test_id"] for e in ok] == [f"test_suite.py::test_ok[{i}]" for i in range(4)]
    assert [e["verdict"] for e in ok] == ["confirmed", "confirmed", "outside", "confirmed"]
    # the last counterexample of the failing hypothesis test is the shrunk one
    hyp = [e for e in report["evaluations"] if e["theorem_id"] == "syn-hyp"]
    last_ce = [e for e in hyp if e["verdict"] == "counterexample"][-1]
    assert [e["sequence"] for e in hyp if e["shrunk"]] == [last_ce["sequence"]]
    assert last_ce["inputs"] == {"q": 1.55}  # k=31 is the smallest k with k/20 > 1.5
    shrunk = [c for c in report["counterexamples"] if c["shrunk"]]
    assert len(shrunk) == 1 and shrunk[0]["reproduce"] == (
        "pytest test_suite.py::test_hyp --ncverify-profile=ci --ncverify-seed=9"
    )
    section = next(t for t in report["theorems"] if t["id"] == "syn-ok")
    (a,) = section["assumptions"]
    assert (a["held"], a["failed"], a["not_checkable"]) == (3, 1, 0)
    assert a["claim_when_failed"] == {"held": 1, "failed": 0, "undecided": 0}
    assert section["registered"] is False and section["provenance"] == "derived"
    assert [e.theorem_id for e in evaluations_from_report(report)][:1] == ["syn-hyp"]
    md = (out / "report.md").read_text()
    html_text = (out / "report.html").read_text()
    assert "the claim held in 1 of the 1 runs where this assumption failed" in md
    assert "(shrunk: the minimal example hypothesis found)" in md
    assert "](figures/extra-fig.png)" in md
    assert base64.b64encode(PNG).decode() in html_text
    plots = sorted(p.name for p in out.glob("ratio-*.png"))
    assert len(plots) == 2 and all(f"]({p})" in md for p in plots)
    assert html_text.count("data:image/png;base64,") == 3
    assert not list(out.glob(".*.tmp"))


def test_interrupted_session_writes_an_incomplete_report(pytester):
    pytester.makepyfile(
        test_stop="""
        import pytest
        from ncverify.spec import AssumptionOutcome, ClaimOutcome, Evaluation

        def test_a(ncverify_record):
            ncverify_record(Evaluation.build(
                theorem_id="syn-int", source="s", provenance="derived",
                assumptions=[AssumptionOutcome("H", "checked", True)],
                claims=[ClaimOutcome("c", 0.5, 1.0, held=True)]))

        def test_b():
            raise KeyboardInterrupt

        def test_c():
            pass
    """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--ncverify-report=out", no_reraise_ctrlc=True
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert not (pytester.path / "out" / "report.json").exists()
    report = json.loads((pytester.path / "out" / "incomplete" / "report.json").read_text())
    assert report["complete"] is False
    assert report["incomplete_reasons"][0] == "interrupted (KeyboardInterrupt)"
    assert "of 3 selected tests did not finish" in report["incomplete_reasons"][-1]
    assert [e["theorem_id"] for e in report["evaluations"]] == ["syn-int"]
    assert "INCOMPLETE RUN" in (pytester.path / "out" / "incomplete" / "report.html").read_text()
    result.stdout.fnmatch_lines(["ncverify: INCOMPLETE report in out/incomplete (marked;*"])


def test_exitfirst_marks_the_report_incomplete(pytester):
    pytester.makepyfile("def test_a(): assert False\ndef test_b(): pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-x", "--ncverify-report=out")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((pytester.path / "out" / "incomplete" / "report.json").read_text())
    assert report["complete"] is False
    assert any(r.startswith("stopped early") for r in report["incomplete_reasons"])


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_hostile_names_are_escaped_in_html_and_markdown():
    evs = [
        _evaluation(HOSTILE, 0.5, test_id=f"t.py::test[{HOSTILE}]", architecture=HOSTILE),
        _evaluation(HOSTILE, 2.0, test_id=f"t.py::test[{HOSTILE}]", architecture=HOSTILE),
        _evaluation(HOSTILE_ATTR, 0.1, test_id=f"t.py::x[{HOSTILE_ATTR}]"),
    ]
    evs[1] = Evaluation.build(
        theorem_id=HOSTILE,
        source=HOSTILE,
        provenance=HOSTILE,
        test_id=evs[1].test_id,
        assumptions=[AssumptionOutcome(HOSTILE_ATTR, "checked", True, {HOSTILE: 1.0}, HOSTILE)],
        claims=[ClaimOutcome(HOSTILE, 2.0, 1.0, held=False, expression=HOSTILE)],
        inputs={HOSTILE: HOSTILE},
        architecture=HOSTILE,
    )
    report = build_report(
        tests=_tests(evs), profile="ci", seed=1, architecture=HOSTILE, command=[HOSTILE]
    )
    figures = [{"file": f"figures/{HOSTILE}.png", "caption": HOSTILE, "png": PNG}]
    page = render_html(report, [], figures)
    parser = _Collect()
    parser.feed(page)
    allowed = {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "h3",
        "p",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "pre",
        "code",
        "figure",
        "img",
        "figcaption",
        "details",
        "summary",
        "ul",
        "li",
        "em",
        "span",
    }
    assert set(parser.tags) <= allowed
    assert {name for name, _ in parser.attrs} <= {"lang", "charset", "class", "alt", "src"}
    text = "".join(parser.text)
    assert HOSTILE in text and HOSTILE_ATTR in text  # shown as text, not dropped
    assert report["counterexamples"][0]["architecture"] == HOSTILE
    md = render_markdown(report, [], figures)
    outside_code = re.sub(r"(`{3,})[^\n]*\n.*?\n\1", "", md, flags=re.S)
    outside_code = re.sub(r"(`+) .*? \1", "", outside_code)
    assert not re.search(r"(?<!\\)<", outside_code)  # every '<' outside code is escaped
    assert r"\<script\>alert(1)\</script\>" in outside_code


def test_registry_metadata_is_used_when_registered(monkeypatch):
    meta = types.SimpleNamespace(
        id="syn-reg",
        title="A registered theorem",
        source="JSWM Thm 3.1",
        provenance="paper",
        proof="by example",
        family="jswm",
        assumptions=[
            types.SimpleNamespace(name="H-first", description="first", status="checked"),
            types.SimpleNamespace(name="H-a", description="the a", status="proxied"),
        ],
        claims=[types.SimpleNamespace(name="c1", relation="<=", expression="1")],
    )

    def get_theorem(theorem_id):
        if theorem_id != "syn-reg":
            raise KeyError(theorem_id)
        return meta

    fake = types.ModuleType("ncverify.spec")
    fake.get_theorem = get_theorem
    monkeypatch.setitem(sys.modules, "ncverify.spec", fake)
    monkeypatch.setattr(ncverify, "spec", fake, raising=False)
    evs = [_evaluation("syn-reg", 0.5), _evaluation("syn-other", 0.5, test_id="t.py::o")]
    report = build_report(tests=_tests(evs), profile="ci", seed=1)
    reg, other = sorted(report["theorems"], key=lambda t: t["id"], reverse=True)
    assert (reg["title"], reg["provenance"], reg["registered"]) == (
        "A registered theorem",
        "paper",
        True,
    )
    assert [a["name"] for a in reg["assumptions"]] == ["H-first", "H-a", "H-nc"]
    assert [a["status"] for a in reg["assumptions"]] == ["checked", "proxied", "not_checkable"]
    assert reg["assumptions"][0]["held"] == 0 and reg["assumptions"][1]["held"] == 1
    assert (other["registered"], other["title"], other["source"]) == (False, "", "synthetic")
    assert "A registered theorem" in render_markdown(report)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (
            {"failed": 40, "claim_when_failed": {"held": 37, "failed": 3, "undecided": 0}},
            ["the claim held in 37 of the 40 runs where this assumption failed"],
        ),
        (
            {"held": 5, "claim_when_held": {"held": 4, "failed": 0, "undecided": 1}},
            ["the claim held in 4 of the 4 runs where this assumption held (1 more undecided)"],
        ),
        (
            {
                "not_checkable": 2,
                "claim_when_not_checkable": {"held": 0, "failed": 0, "undecided": 2},
            },
            [
                "the claim could not be decided in any of the 2 runs where this assumption was not "
                "checkable"
            ],
        ),
    ],
)
def test_conditional_claim_sentences(counts, expected):
    assert conditional_sentences(counts) == expected


def test_verdict_table_and_counts():
    evs = [
        _evaluation("b", 0.5),
        _evaluation("b", 2.0, a_held=False),
        _evaluation("a", 0.2, test_id="t.py::a"),
    ]
    report = build_report(tests=_tests(evs, outcome="failed"), profile="ci", seed=1)
    # H-nc is not checkable: no run of these records is in the theorem's scope (outside)
    assert format_verdict_table(report["verdicts"]).splitlines() == [
        "theorem  tests  failed  confirmed  outside  counterexample  unexplained  inconclusive",
        "a            1       1          0        1               0            0             0",
        "b            1       1          0        2               0            0             0",
    ]


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    atomic_write(target, "old")
    assert target.read_text() == "old"

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    monkeypatch.undo()
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_write_report_removes_stale_plots(tmp_path):
    (tmp_path / "ratio-stale-00000000.png").write_bytes(PNG)
    report = build_report(tests=_tests([_evaluation("a", 0.2)]), profile="ci", seed=1)
    paths = write_report(tmp_path, report)
    assert [p.name for p in paths] == ["report.html", "report.md", "report.json"]
    pngs = [p.name for p in tmp_path.glob("ratio-*.png")]
    assert len(pngs) == 1 and pngs[0].startswith("ratio-a-c1-")
    assert json.loads((tmp_path / "report.json").read_text()) == report


def _data_columns(report, theorem, claim) -> int:
    """Pixel columns holding the data colours (blue: every hypothesis held, orange: outside)
    in the claim's figure, legend removed. A histogram squeezed into a hairline at the
    axis (the previous plots' "empty axes") covers at most 2."""
    import io

    import matplotlib.image
    import numpy as np
    from matplotlib.figure import Figure

    from ncverify.report._plots import claim_figure, claim_values

    fig, _ = claim_figure(theorem, claim, claim_values(report)[(theorem, claim)], Figure)
    fig.axes[0].get_legend().remove()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    rgb = (matplotlib.image.imread(io.BytesIO(buf.getvalue()))[..., :3] * 255).astype(int)
    hit = np.zeros(rgb.shape[:2], dtype=bool)
    for colour in ((0x4C, 0x72, 0xB0), (0xDD, 0x84, 0x52)):
        hit |= np.abs(rgb - np.array(colour)).sum(axis=-1) < 30
    return int(hit.any(axis=0).sum())


def _zero_bound_evaluation(q, *, a_held=True):
    return Evaluation.build(
        theorem_id="z",
        source="synthetic",
        provenance="derived",
        assumptions=[AssumptionOutcome("H-a", "checked", a_held, {"q": q})],
        claims=[ClaimOutcome("c1", q, 0.0, "<=", held=q <= 1e-12, expression="0")],
        inputs={"q": q},
        test_id="t.py::test",
        seed=1,
    )


@pytest.mark.parametrize(
    ("quantities", "caption"),
    [
        ([0.7] * 50, r"over 50 evaluations"),  # identical ratios: numpy cannot bin them
        ([0.7, 0.7 * (1 + 1e-15)], r"over 2 evaluations"),  # below float resolution
        ([0.5], r"over 1 evaluation \("),  # a single evaluation: one point
        ([0.0, 0.0, 1e-300, 0.9, 3.0], r"over 5 evaluations .*; 2 with ratio 0"),  # log axis
        ([0.01 * i for i in range(200)], r"over 200 evaluations"),  # histogram
        ([0.0] * 100, r"over 100 evaluations.*; 100 with ratio 0"),  # histogram of zeros
    ],
)
def test_ratio_plots_draw_every_evaluation(quantities, caption):
    """Few evaluations are points (strip plot), many a histogram whose range contains the
    bound line: the data is never out of sight (pixels in the data colours)."""
    from ncverify.report._plots import STRIP_MAX, ratio_plots

    evs = [_evaluation("p", q, a_held=i % 2 == 0) for i, q in enumerate(quantities)]
    report = build_report(tests=_tests(evs), profile="ci", seed=1)
    (plot,) = ratio_plots(report)
    assert plot["png"].startswith(b"\x89PNG") and plot["file"].startswith("ratio-p-c1-")
    assert re.search(caption, plot["caption"]), plot["caption"]
    assert _data_columns(report, "p", "c1") >= (4 if len(quantities) <= STRIP_MAX else 8)


def _lower_bound_evaluation(q):
    """A '>=' claim (bound 1): its ratio bound/quantity is infinite when the quantity is 0."""
    return Evaluation.build(
        theorem_id="g",
        source="synthetic",
        provenance="derived",
        assumptions=[AssumptionOutcome("H-a", "checked", True, {"q": q})],
        claims=[ClaimOutcome("c1", q, 1.0, ">=", held=q >= 1.0, expression="1")],
        inputs={"q": q},
        test_id="t.py::test",
        seed=1,
    )


@pytest.mark.parametrize(
    ("quantities", "caption", "drawn"),
    [
        ([2.0, 0.0, 4.0], r"over 3 evaluations .*; 1 infinite, not drawn", True),
        ([2.0 + 0.01 * i for i in range(100)] + [0.0], r"; 1 infinite, not drawn", True),
        ([0.0] * 3, r"over 3 evaluations .*; 3 infinite, not drawn", False),
    ],
)
def test_infinite_ratios_are_counted_not_drawn(quantities, caption, drawn):
    """A '>=' claim measured 0 has ratio ∞: the figure draws the finite ones and names the
    count (log10(∞) once broke the whole figure with an OverflowError)."""
    from ncverify.report._plots import ratio_plots

    report = build_report(
        tests=_tests([_lower_bound_evaluation(q) for q in quantities]), profile="ci", seed=1
    )
    (plot,) = ratio_plots(report)
    assert plot["png"].startswith(b"\x89PNG")
    assert re.search(caption, plot["caption"]), plot["caption"]
    if drawn:
        assert _data_columns(report, "g", "c1") >= 4


@pytest.mark.parametrize(
    ("quantities", "caption", "cell"),
    [
        (
            [0.0] * 31 + [2e-16] * 5,
            r"bound 0 \(an exact identity.*over 36 evaluations.*exactly 0 \(exact\) in 31, "
            r"max 2e-16 where every hypothesis held",
            "bound 0 in 36: exact (measured 0) in 31, max measured 2e-16",
        ),
        (
            [0.0, 0.0],
            r"over 2 evaluations .*exactly 0 \(exact\) in 2, max 0 where",
            "bound 0 in 2: exact (measured 0) in 2",
        ),
    ],
)
def test_a_zero_bound_is_exact_not_an_infinite_ratio(quantities, caption, cell):
    """A claim whose bound is 0 has no measured/bound ratio: the figure shows the measured
    quantity (zeros marked exact) and the claim table never says 'worst ratio inf'."""
    from ncverify.report._plots import ratio_plots
    from ncverify.report._render import render_markdown

    evs = [_zero_bound_evaluation(q) for q in quantities]
    report = build_report(tests=_tests(evs), profile="ci", seed=1)
    (claim,) = report["theorems"][0]["claims"]
    assert claim["ratio_max"] is None and claim["n_ratios"] == 0
    assert (claim["zero_bound"], claim["exact"]) == (len(quantities), quantities.count(0.0))
    (plot,) = ratio_plots(report)
    assert re.search(caption, plot["caption"]), plot["caption"]
    assert _data_columns(report, "z", "c1") >= 4
    md = render_markdown(report, [], [])
    row = next(line for line in md.splitlines() if line.startswith("| c1 |"))
    assert row.endswith(f"| {cell} |") and "inf" not in row


@pytest.mark.parametrize(
    ("proxy", "held", "key"),
    [
        ("sufficient", True, "held"),  # a sufficient proxy that held establishes the hypothesis
        ("sufficient", False, "unsettled"),  # ... one that did not hold decides nothing
        ("necessary", False, "failed"),  # a necessary proxy that failed refutes it
        ("necessary", True, "unsettled"),  # ... one that held decides nothing
    ],
)
def test_a_proxy_is_counted_by_what_it_decides(proxy, held, key):
    from ncverify.report._render import render_markdown

    ev = Evaluation.build(
        theorem_id="p",
        source="synthetic",
        provenance="derived",
        assumptions=[AssumptionOutcome("H-p", "proxied", held, proxy=proxy)],
        claims=[ClaimOutcome("c1", 0.5, 1.0, "<=", held=True, expression="1")],
        inputs={},
        test_id="t.py::test",
        seed=1,
    )
    report = build_report(tests=_tests([ev]), profile="ci", seed=1)
    (a,) = report["theorems"][0]["assumptions"]
    counts = {k: a[k] for k in ("held", "failed", "not_checkable", "unsettled")}
    assert counts == {"held": 0, "failed": 0, "not_checkable": 0, "unsettled": 0} | {key: 1}
    row = next(line for line in render_markdown(report, [], []).splitlines() if "| H-p |" in line)
    assert row.split(" | ")[2:6] == [
        str(int(key == k)) for k in ("held", "failed", "not_checkable", "unsettled")
    ]
