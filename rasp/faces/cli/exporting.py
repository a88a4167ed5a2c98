"""`rasp export`: a compiled model's weights for TransformerLens or any framework (docs/export.md)."""

from __future__ import annotations

import argparse

from grammar.errors import RaspError


def add(sub: argparse._SubParsersAction) -> None:
    from compiler.export import ExportFormat

    p = sub.add_parser("export", help="write a compiled model's weights for other frameworks",
                       description="Write MODEL (from rasp compile -o) to the folder DIR: a TransformerLens "
                                   "HookedTransformer's config and state dict (transformerlens), or the "
                                   "model's own arrays (safetensors), each with lengthwise.json, the "
                                   "tokens and how to read the output.")
    p.add_argument("model", metavar="MODEL", help="a model file from rasp compile -o")
    p.add_argument("--format", required=True, choices=[f.value for f in ExportFormat],
                   help="transformerlens: config.json and a HookedTransformer state dict; "
                        "safetensors: the arrays under their names in the model file")
    p.add_argument("-o", dest="directory", required=True, metavar="DIR",
                   help="the folder to write (made when missing; its files of the same names are replaced)")
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from compiler import model as saved
    from compiler.export import ExportFormat, export

    model = saved.load(args.model)
    try:
        exported = export(model, args.directory, ExportFormat(args.format))
    except OSError as e:
        raise RaspError(f"cannot write {args.directory}: {e.strerror}") from None
    count = sum(a.size for a in exported.arrays.values())
    print(f"exported {args.model} as {exported.format} ({len(exported.arrays)} arrays, {count:,} numbers):")
    for path in exported.files():
        print(f"  {path}")
    return 0
