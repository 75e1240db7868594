"""``ncverify list``: the registered theorems, their hypotheses (with statuses), claims and
negative controls."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._errors import EXIT_OK, CommandError

__all__ = ["add_list"]


def _text(x: Any) -> str:
    x = getattr(x, "value", x)
    return "" if x is None else str(x)


def _theorem_info(t: Any) -> dict[str, Any]:
    return {
        "id": _text(t.id),
        "title": _text(getattr(t, "title", "")),
        "family": _text(getattr(t, "family", "")),
        "provenance": _text(getattr(t, "provenance", "")),
        "source": _text(getattr(t, "source", "")),
        "assumptions": [
            {
                "name": _text(a.name),
                "status": _text(getattr(a, "status", ""))
                + (f" ({a.proxy})" if getattr(a, "proxy", None) else ""),
                "description": _text(getattr(a, "description", "")),
            }
            for a in getattr(t, "assumptions", ())
        ],
        "claims": [
            {
                "name": _text(c.name),
                "relation": _text(getattr(c, "relation", "")),
                "expression": _text(getattr(c, "expression", "")),
            }
            for c in getattr(t, "claims", ())
        ],
        "controls": [
            {
                "name": _text(c.name),
                "kind": _text(getattr(c, "kind", "")),
                "target": _text(getattr(c, "target", "")),
                "description": _text(getattr(c, "description", "")),
            }
            for c in getattr(t, "controls", ())
        ],
    }


def _registry() -> list[Any]:
    try:
        from .. import spec
    except ImportError as exc:
        raise CommandError(f"the theorem registry ncverify.spec cannot be imported: {exc}") from exc
    return sorted(spec.all_theorems(), key=lambda t: _text(t.id))


def _cmd_list(args: argparse.Namespace) -> int:
    infos = [_theorem_info(t) for t in _registry()]
    if args.json:
        print(json.dumps(infos, indent=2))
        return EXIT_OK
    for info in infos:
        print(f"{info['id']}  [{info['provenance'] or '?'}]  {info['title']}")
        if info["source"]:
            print(f"    source: {info['source']}")
        for a in info["assumptions"]:
            status = (a["status"] or "?").replace("_", " ")
            print(f"    assumption {a['name']:<16} {status:<22} {a['description']}")
        for c in info["claims"]:
            print(f"    claim      {c['name']:<16} {c['relation']} {c['expression']}".rstrip())
        for c in info["controls"]:
            print(
                f"    control    {c['name']:<16} {c['kind']} {c['target']}: "
                f"{c['description']}".rstrip(" :")
            )
    print(f"{len(infos)} theorems")
    return EXIT_OK


def add_list(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "list",
        help="list the registered theorems and their assumptions",
        description="List theorems: id, provenance, title, source, every "
        "assumption with its status (checked / proxied / declared / not checkable), "
        "every claim and its negative controls.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=_cmd_list)
