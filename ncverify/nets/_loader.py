"""Loading user architectures: ``"module:factory"`` strings and the entry-point group.

A factory is any callable ``factory(*, input_dim, num_classes, num_samples) -> nn.Module``
returning a network that satisfies the protocol of :mod:`ncverify.nets`. It is named

- as ``"package.module:factory"`` (``factory`` may be a dotted attribute path), imported with
  the current working directory on ``sys.path`` as a fallback, so
  ``--arch examples.residual_mlp:factory`` works from the repository root; or
- by an entry point in the group ``ncverify.architectures``
  (``[project.entry-points."ncverify.architectures"] mynet = "mypkg.mynet:factory"``); or
- as ``"pyramidal"``, the built-in JSWM network (:func:`pyramidal_factory`).

:meth:`ArchitectureFactory.build` seeds torch (inside ``torch.random.fork_rng``, so the global
RNG state is left as it was), calls the factory, moves the network to the requested dtype and
device and checks it with :func:`~ncverify.nets.check_architecture`.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidArchitecture

__all__ = [
    "ENTRY_POINT_GROUP",
    "ArchitectureFactory",
    "available_architectures",
    "load_architecture",
    "pyramidal_factory",
]

ENTRY_POINT_GROUP = "ncverify.architectures"
_BUILTIN = {"pyramidal": "ncverify.nets:pyramidal_factory"}
_SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


def pyramidal_factory(*, input_dim: int, num_classes: int, num_samples: int):
    """The built-in JSWM network, shaped like the spec's §5 calibration run.

    Nonlinear widths ``(max(N, 64), max(32, K))`` with ``σ = 0.5x + 0.5 tanh x``, then a
    linear head ``(max(16, K), max(8, K), K)`` (L2 = 3): satisfies Assumptions 4.1 and 4.2 for
    any ``N`` and ``K``. Weights come from the global torch RNG (seeded by the caller).
    """
    import torch

    from ._pyramidal import PyramidalMLP

    K, N = num_classes, num_samples
    return PyramidalMLP(
        input_dim,
        (max(N, 64), max(32, K)),
        (max(16, K), max(8, K)),
        K,
        "gamma_tanh",
        generator=torch.default_generator,
    )


def _entry_points():
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def available_architectures() -> dict[str, str]:
    """Names usable without a colon: built-ins and installed entry points -> their target."""
    names = dict(_BUILTIN)
    for ep in _entry_points():
        names.setdefault(ep.name, ep.value)
    return names


def _import_module(module: str, spec: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        cwd = os.getcwd()
        if exc.name is None or top != exc.name.split(".")[0] or cwd in sys.path:
            raise InvalidArchitecture(
                f"cannot import module {module!r} for architecture {spec!r}: {exc}"
            ) from exc
    # like ``python -m``: a module in the working directory is found even when the console
    # script's directory, not the working directory, is sys.path[0]
    sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise InvalidArchitecture(
            f"cannot import module {module!r} for architecture {spec!r}: {exc} (looked on "
            f"sys.path and in the working directory {cwd}; install the package or run from "
            "the directory that contains it)"
        ) from exc
    except Exception as exc:
        raise InvalidArchitecture(
            f"importing module {module!r} for architecture {spec!r} raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    finally:
        if sys.path and sys.path[0] == cwd:
            del sys.path[0]


def _resolve(target: str, spec: str) -> Callable:
    module_name, _, attr_path = target.partition(":")
    try:
        obj = _import_module(module_name, spec)
    except InvalidArchitecture:
        raise
    except Exception as exc:
        raise InvalidArchitecture(
            f"importing module {module_name!r} for architecture {spec!r} raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidArchitecture(
                f"module {module_name!r} has no attribute {attr_path!r} (architecture {spec!r})"
            ) from None
    if not callable(obj):
        raise InvalidArchitecture(
            f"{target!r} is a {type(obj).__name__}, not a callable factory "
            "factory(*, input_dim, num_classes, num_samples)"
        )
    return obj


@dataclass(frozen=True)
class ArchitectureFactory:
    """A loaded architecture: ``spec`` (as given), ``target`` (``module:attr``), ``factory``."""

    spec: str
    target: str
    factory: Callable

    def build(
        self,
        *,
        input_dim: int,
        num_classes: int,
        num_samples: int,
        seed: int,
        dtype=None,
        device=None,
        require_bias_free_head: bool = True,
    ):
        """Seed torch with ``seed``, call the factory, move to dtype/device, check, return the net.

        ``dtype`` defaults to ``torch.float64`` (the dtype of theorem checks); ``device`` to
        wherever the factory put the network. The global RNG state is restored afterwards.
        Raises :class:`InvalidArchitecture` if the factory raises, returns something that is
        not an ``nn.Module``, or returns a network failing ``check_architecture``.
        """
        import torch
        from torch import nn

        from ._protocol import check_architecture

        if dtype is None:
            dtype = torch.float64
        args = f"input_dim={input_dim}, num_classes={num_classes}, num_samples={num_samples}"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            try:
                net = self.factory(
                    input_dim=input_dim, num_classes=num_classes, num_samples=num_samples
                )
            except InvalidArchitecture:
                raise
            except Exception as exc:
                raise InvalidArchitecture(
                    f"architecture factory {self.target!r} raised {type(exc).__name__}: {exc} "
                    f"(called with {args}, seed={seed})"
                ) from exc
        if not isinstance(net, nn.Module):
            raise InvalidArchitecture(
                f"architecture factory {self.target!r} returned {type(net).__name__}, not a "
                f"torch.nn.Module (called with {args})"
            )
        net = net.to(dtype=dtype, device=device)
        check_architecture(
            net,
            input_dim=input_dim,
            num_classes=num_classes,
            require_bias_free_head=require_bias_free_head,
        )
        return net

    __call__ = build


def load_architecture(spec: str) -> ArchitectureFactory:
    """Resolve ``"module:factory"``, an entry-point name or ``"pyramidal"`` to a factory.

    Raises :class:`InvalidArchitecture` for a malformed string, an unknown name (listing the
    known ones), a module that cannot be imported, a missing attribute or a non-callable.
    """
    if not isinstance(spec, str):
        raise InvalidArchitecture(
            f"an architecture is named by a string 'module:factory' or an entry-point name, "
            f"got {type(spec).__name__}"
        )
    spec_s = spec.strip()
    if ":" in spec_s:
        if not _SPEC.match(spec_s):
            raise InvalidArchitecture(
                f"malformed architecture {spec!r}: expected 'package.module:factory' (one colon, "
                "dotted Python identifiers on both sides), e.g. 'examples.residual_mlp:factory'"
            )
        return ArchitectureFactory(spec, spec_s, _resolve(spec_s, spec))
    if not _NAME.match(spec_s):
        raise InvalidArchitecture(
            f"malformed architecture {spec!r}: expected 'package.module:factory' or the name "
            f"of an entry point in the group {ENTRY_POINT_GROUP!r}"
        )
    if spec_s in _BUILTIN:
        return ArchitectureFactory(spec, _BUILTIN[spec_s], _resolve(_BUILTIN[spec_s], spec))
    matches = [ep for ep in _entry_points() if ep.name == spec_s]
    if not matches:
        known = sorted(available_architectures())
        raise InvalidArchitecture(
            f"unknown architecture {spec!r}: not a 'module:factory' string and no entry point "
            f"of that name in the group {ENTRY_POINT_GROUP!r}; known names: {', '.join(known)}"
        )
    ep = matches[0]
    try:
        factory = ep.load()
    except Exception as exc:
        raise InvalidArchitecture(
            f"entry point {spec_s!r} = {ep.value!r} (group {ENTRY_POINT_GROUP!r}) failed to load: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not callable(factory):
        raise InvalidArchitecture(
            f"entry point {spec_s!r} = {ep.value!r} is a {type(factory).__name__}, not a callable "
            "factory"
        )
    return ArchitectureFactory(spec, ep.value, factory)
