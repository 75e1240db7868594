"""UFM oracles refuse malformed arguments with an InvalidInput naming the value.

Numbers must be real numbers (not strings or bools), flags must be bools, sizes positive
integers; a refusal's advice names only settings that are not already in use.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from ncverify import InvalidInput, ProblemTooLarge
from ncverify.ufm import (
    ce_optimum,
    certify_ufm,
    deep_linear_optimum,
    estimate_certificate_bytes,
    fit_ufm,
    mse_bias_optimum,
    two_factor_mse_optimum,
)

CERT = dict(loss="mse", K=3, n=2, lambda_W=0.1, lambda_H=0.1)
FIT = dict(loss="mse", K=3, n=2, lambda_W=0.1, lambda_H=0.1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: certify_ufm(**CERT | dict(lambda_W="1e-3")),
            r"^lambda_W='1e-3' is not a real number \(got str\); pass a positive int or float "
            r"such as lambda_W=1e-3$",
        ),
        (
            lambda: two_factor_mse_optimum(3, 2, 0.1, b"0.1"),
            r"^lambda_H=b'0.1' is not a real number \(got bytes\)",
        ),
        (lambda: ce_optimum(3, 2, False, 0.1), r"^lambda_W=False is a bool, not a regular"),
        (
            lambda: mse_bias_optimum(3, 2, 0.1, np.bool_(True)),
            r"^lambda_H=(np\.)?True_? is a bool, not a regularisation strength$",
        ),
        (
            lambda: certify_ufm(**CERT | dict(reduced="no")),
            r"^reduced='no' must be True or False \(a bool\), got str$",
        ),
        (
            lambda: certify_ufm(**CERT | dict(reduced=1)),
            r"^reduced=1 must be True or False \(a bool\), got int$",
        ),
        (
            lambda: certify_ufm(**CERT | dict(max_bytes=-1)),
            r"^max_bytes=-1 must be a positive integer$",
        ),
        (
            lambda: certify_ufm(**CERT | dict(max_bytes=0)),
            r"^max_bytes=0 must be a positive integer$",
        ),
        (
            lambda: certify_ufm(**CERT | dict(max_bytes="2GiB")),
            r"^max_bytes='2GiB' must be a positive integer$",
        ),
        (
            lambda: certify_ufm(**CERT | dict(tol="1e-6")),
            r"^tol='1e-6' is not a real number \(got str\)",
        ),
        (lambda: certify_ufm(**CERT | dict(tol=True)), r"^tol=True is a bool, not a number"),
        (lambda: certify_ufm(**CERT | dict(tol=2.0)), r"^tol=2.0 must be in \(0, 1\)$"),
        (
            lambda: certify_ufm(**CERT | dict(max_iters=10.0)),
            r"^max_iters=10.0 must be a positive integer$",
        ),
        (
            lambda: certify_ufm(**CERT | dict(loss=["mse"])),
            r"^loss=\['mse'\]; expected one of mse, mse_bias, ce$",
        ),
        (
            lambda: estimate_certificate_bytes("mse", 3, 2, reduced="yes"),
            r"^reduced='yes' must be True or False",
        ),
        (
            lambda: estimate_certificate_bytes("mse", 3, 2, solver="mosek"),
            r"^solver='mosek'; expected one of SCS, CLARABEL",
        ),
        (
            lambda: fit_ufm(**FIT | dict(bias=1)),
            r"^bias=1 must be True or False \(a bool\), got int$",
        ),
        (
            lambda: fit_ufm(**FIT | dict(step_size="0.1", method="gd")),
            r"^step_size='0.1' is not a real number \(got str\)",
        ),
        (
            lambda: fit_ufm(**FIT | dict(grad_tol="tiny")),
            r"^grad_tol='tiny' is not a real number",
        ),
        (
            lambda: fit_ufm(**FIT | dict(init_scale=0.0)),
            r"^init_scale=0.0 must be finite and positive$",
        ),
        (lambda: fit_ufm(**FIT | dict(seed=-1)), r"^seed=-1 must be an integer >= 0$"),
        (lambda: fit_ufm(**FIT | dict(seed=True)), r"^seed=True must be an integer >= 0$"),
        (
            lambda: fit_ufm(**FIT | dict(max_bytes=-5)),
            r"^max_bytes=-5 must be a positive integer$",
        ),
        (lambda: fit_ufm(**FIT | dict(width=True)), r"^width=True must be an integer >= K=3"),
        (
            lambda: fit_ufm(**FIT | dict(hidden_lambdas="0.1")),
            r"^hidden_lambdas='0.1' must be a sequence of numbers$",
        ),
        (
            lambda: deep_linear_optimum(3, 2, ["0.1", 0.1]),
            r"^lambdas\[0\]='0.1' is not a real number \(got str\)",
        ),
    ],
)
def test_malformed_ufm_arguments_are_refused(call, match):
    with pytest.raises(InvalidInput, match=match):
        call()


@pytest.mark.parametrize(
    "value", [1, 0.5, Fraction(1, 4), np.float32(0.25), np.float64(0.5), np.int64(1)]
)
def test_real_numbers_of_every_kind_are_accepted(value):
    assert two_factor_mse_optimum(2, 2, value, 0.01).lambda_W == float(value)


@pytest.mark.parametrize(
    ("kwargs", "advice"),
    [
        # the symmetric reduction (default, its own solver) already in use: only K is advised
        (dict(K=10_000, n=10), r"; use a smaller K, or raise max_bytes deliberately$"),
        (
            dict(K=100, n=100, solver="CLARABEL", reduction="classes"),
            r"; use reduction='symmetric', solver='SCS', a smaller K, or raise max_bytes "
            r"deliberately$",
        ),
        (
            dict(K=100, n=100, solver="SCS", reduction="classes", max_bytes=10**6),
            r"; use reduction='symmetric', a smaller K, or raise max_bytes deliberately$",
        ),
        (
            dict(K=10, n=10, reduced=False, solver="CLARABEL", max_bytes=10**6),
            r"; use reduced=True, solver='SCS', a smaller K or n, or raise max_bytes "
            r"deliberately$",
        ),
        (
            dict(K=3, n=2, max_bytes=1000),
            r"needs about 0\.00 GiB \(> max_bytes=1000 bytes = 0\.00 GiB\); use a smaller K, "
            r"or raise max_bytes deliberately$",
        ),
    ],
)
def test_refusal_advice_never_repeats_settings_in_use(kwargs, advice):
    args = dict(loss="mse", lambda_W=1e-3, lambda_H=1e-3) | kwargs
    with pytest.raises(ProblemTooLarge, match=advice) as info:
        certify_ufm(**args)
    message = str(info.value)
    if args.get("reduced", True):
        assert "use reduced=True" not in message
    if args.get("solver", "SCS") == "SCS":
        assert "solver='SCS'" not in message.split("; use ")[1]
    if args.get("reduction", "symmetric") == "symmetric":
        assert "reduction='symmetric'" not in message.split("; use ")[1]
