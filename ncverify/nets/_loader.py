"""Loading user architectures: ``"module:factory"`` strings and the entry-point group.

A factory is any callable ``factory(*, input_shape, num_classes, num_samples) -> nn.Module``
returning a network that satisfies the protocol of :mod:`ncverify.nets`; ``input_shape`` is
the shape of one sample of the data, ``(d,)`` for vectors or ``(C, H, W)`` for images. A
factory that needs a particular input declares it as the default of its ``input_shape``
parameter (``def factory(*, input_shape=(1, 8, 8), ...)`` for 8×8 images) and ncverify
chooses a data set of that shape (:data:`DEFAULT_INPUT_SHAPE` vectors otherwise). It is named

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
import inspect
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidArchitecture, InvalidInput
from ._protocol import FACTORY_SIGNATURE, input_shape_of

__all__ = [
    "DEFAULT_INPUT_SHAPE",
    "ENTRY_POINT_GROUP",
    "PLUGIN_NUM_CLASSES",
    "PLUGIN_SAMPLES_PER_CLASS",
    "ArchitectureFactory",
    "available_architectures",
    "check_plugin",
    "load_architecture",
    "pyramidal_factory",
]

ENTRY_POINT_GROUP = "ncverify.architectures"
#: the input of a factory that declares none: vectors of this shape (Gaussian clusters)
DEFAULT_INPUT_SHAPE = (16,)
#: the data a plug-in is checked on by ``ncverify check`` (and the ``ncverify_arch`` tests)
PLUGIN_NUM_CLASSES = 4
PLUGIN_SAMPLES_PER_CLASS = 8
_PROTOCOL = FACTORY_SIGNATURE
_BUILTIN = {"pyramidal": "ncverify.nets:pyramidal_factory"}
_SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


def pyramidal_factory(*, input_shape: tuple[int, ...], num_classes: int, num_samples: int):
    """The built-in JSWM network, shaped like the spec's §5 calibration run.

    Nonlinear widths ``(max(N, 64), max(32, K))`` with ``σ = 0.5x + 0.5 tanh x``, then a
    linear head ``(max(16, K), max(8, K), K)`` (L2 = 3): satisfies Assumptions 4.1 and 4.2 for
    any ``N`` and ``K``. Vector inputs only (``input_shape = (d,)``). Weights come from the
    global torch RNG (seeded by the caller).
    """
    import torch

    from ._pyramidal import PyramidalMLP

    if len(input_shape) != 1:
        raise InvalidArchitecture(
            f"the pyramidal MLP takes vectors, input_shape=(d,); got input_shape={input_shape}"
        )
    K, N = num_classes, num_samples
    return PyramidalMLP(
        input_shape[0],
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
            f"{target!r} is a {type(obj).__name__}, not a callable factory {_PROTOCOL}"
        )
    return obj


def _parameters(factory: Callable) -> dict[str, inspect.Parameter] | None:
    try:
        return dict(inspect.signature(factory).parameters)
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        return None


@dataclass(frozen=True)
class ArchitectureFactory:
    """A loaded architecture: ``spec`` (as given), ``target`` (``module:attr``), ``factory``."""

    spec: str
    target: str
    factory: Callable

    @property
    def declared_input_shape(self) -> tuple[int, ...] | None:
        """The default of the factory's ``input_shape`` parameter, if it declares one."""
        params = _parameters(self.factory)
        p = None if params is None else params.get("input_shape")
        if p is None or p.default is inspect.Parameter.empty:
            return None
        try:
            return input_shape_of(p.default, f"the default input_shape of {self.target!r}")
        except InvalidInput as exc:
            raise InvalidArchitecture(str(exc)) from None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample the checks use: declared, else :data:`DEFAULT_INPUT_SHAPE`."""
        return self.declared_input_shape or DEFAULT_INPUT_SHAPE

    def build(
        self,
        *,
        input_shape,
        num_classes: int,
        num_samples: int,
        seed: int,
        dtype=None,
        device=None,
        require_bias_free_head: bool = True,
    ):
        """Seed torch with ``seed``, call the factory, move to dtype/device, check, return the net.

        ``input_shape``: one sample's shape, ``(d,)`` or ``(C, H, W)``. ``dtype`` defaults to
        ``torch.float64`` (the dtype of theorem checks); ``device`` to wherever the factory
        put the network. The global RNG state is restored afterwards. Raises
        :class:`InvalidArchitecture` if the factory raises, returns something that is not an
        ``nn.Module``, or returns a network failing ``check_architecture``.
        """
        import torch
        from torch import nn

        from ._protocol import check_architecture

        try:
            input_shape = input_shape_of(input_shape)
        except InvalidInput as exc:
            raise InvalidArchitecture(str(exc)) from None
        if dtype is None:
            dtype = torch.float64
        args = f"input_shape={input_shape}, num_classes={num_classes}, num_samples={num_samples}"
        self._check_signature()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            try:
                net = self.factory(
                    input_shape=input_shape, num_classes=num_classes, num_samples=num_samples
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
            input_shape=input_shape,
            num_classes=num_classes,
            require_bias_free_head=require_bias_free_head,
        )
        return net

    __call__ = build

    def _check_signature(self) -> None:
        """A factory written for the previous protocol (``input_dim``) gets a migration hint."""
        params = _parameters(self.factory)
        if params is None or any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return
        missing = [n for n in ("input_shape", "num_classes", "num_samples") if n not in params]
        if not missing:
            return
        hint = ""
        if "input_dim" in params and "input_shape" in missing:
            hint = (
                "; it takes input_dim, the protocol before input shapes: rename the parameter "
                "input_shape (a tuple, (d,) for vectors: use input_shape[0] where you used "
                "input_dim)"
            )
        raise InvalidArchitecture(
            f"architecture factory {self.target!r} does not accept {', '.join(missing)}: a "
            f"factory is {_PROTOCOL}{hint} (docs/architectures.md)"
        )


def check_plugin(spec: str, *, seed: int = 0):
    """Load ``spec``, build it on the data the plug-in checks use, return ``(factory, info)``.

    What ``ncverify check`` (and the ``ncverify_arch`` tests) do before training: the factory
    is called with its :attr:`ArchitectureFactory.input_shape` and
    :data:`PLUGIN_NUM_CLASSES` × :data:`PLUGIN_SAMPLES_PER_CLASS` samples, in float64 on the
    CPU, and the network is checked by :func:`~ncverify.nets.check_architecture`. Raises
    :class:`InvalidArchitecture` with the reason (including "no data set of that shape").
    """
    from ..data import make_dataset_for_shape
    from ._protocol import check_architecture

    factory = load_architecture(spec)
    shape = factory.input_shape
    try:
        data = make_dataset_for_shape(
            shape,
            seed=seed,
            num_classes=PLUGIN_NUM_CLASSES,
            samples_per_class=PLUGIN_SAMPLES_PER_CLASS,
        )
    except InvalidInput as exc:
        raise InvalidArchitecture(f"architecture {spec!r}: {exc}") from None
    net = factory.build(
        input_shape=shape,
        num_classes=data.num_classes,
        num_samples=data.num_samples,
        seed=seed,
    )
    return factory, check_architecture(net, input_shape=shape, num_classes=data.num_classes)


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
