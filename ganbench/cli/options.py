"""Option types shared by the commands."""

from __future__ import annotations

import click


class CommaList(click.ParamType):
    """A comma-separated list, repeatable: --seeds 0,1 --seeds 2 -> [0, 1, 2]."""

    name = "list"

    def __init__(self, item_type=str):
        self.item_type = item_type

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        items = [v.strip() for v in str(value).split(",") if v.strip()]
        try:
            return [self.item_type(v) for v in items]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.item_type.__name__}", param, ctx)


def flatten(values) -> list:
    out: list = []
    for v in values or ():
        out.extend(v if isinstance(v, list) else [v])
    return out
