"""Reading a baseline file back, with every way it can be wrong said in one line.

A baseline the check cannot trust is a usage error (exit 2), never a regression (exit 1):
exit 1 from `ganbench check` must mean the code got worse, so CI can tell the two apart.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ..errors import UsageError
from ..provenance import cpu_model
from ..report.tables import DIRECTIONS
from .baseline import KIND, PROTOCOL_CONFIG, PROTOCOL_EVAL, SCHEMA

ENTRY_FIELDS = {
    "dataset": str,
    "variant": str,
    "protocol": dict,
    "seeds": list,
    "n_seeds": int,
    "n_diverged": int,
    "metrics": dict,
}
METRIC_FIELDS = ("mean", "std", "n")


class MalformedBaseline(UsageError):
    pass


def slug(cpu: str) -> str:
    """A file name for a CPU model: "Intel(R) Xeon(R) Processor" -> "intel-r-xeon-r-processor"."""
    return re.sub(r"[^a-z0-9]+", "-", cpu.lower()).strip("-") or "cpu"


def pick(folder: Path, cpu: str, echo=lambda msg: None) -> Path:
    """The baseline file in `folder` made on a CPU of model `cpu`.

    CPU results are bit-identical per CPU model, not across models (their kernels round
    differently), so a smoke-length baseline made on one model is another model's noise:
    a folder holds one baseline per model the project's CI has seen. With none for `cpu`,
    the newest-named one is used, and `echo` says so.
    """
    found = {}
    for candidate in sorted(folder.glob("*.json")):
        try:
            env = json.loads(candidate.read_text()).get("environment") or {}
        except (OSError, ValueError, AttributeError):
            continue  # load() of the chosen file reports a malformed one
        found.setdefault(env.get("cpu_model"), candidate)
    if not found:
        raise MalformedBaseline(f"baseline folder {folder} holds no baseline JSON file")
    if cpu in found:
        return found[cpu]
    fallback = sorted(found.values())[-1]
    models = ", ".join(sorted(str(m) for m in found))
    echo(
        f"note: no baseline in {folder} was made on this CPU ({cpu}; it has: {models}); using {fallback.name}. "
        "CPU runs are bit-identical per CPU model only: expect failures from rounding, and add one for this "
        "CPU with scripts/make_baseline.py"
    )
    return fallback


def load(path: str | Path, echo=lambda msg: None) -> dict:
    """The validated baseline document at `path`: a baseline JSON file, or a folder of them,
    one per CPU model (see `pick`)."""
    path = Path(path)
    if path.is_dir():
        path = pick(path, cpu_model(), echo)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise MalformedBaseline(
            f"baseline {path} does not exist; make one with `ganbench baseline --out RUNS -o {path}`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise MalformedBaseline(f"cannot read baseline {path} ({reason})") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise MalformedBaseline(f"baseline {path} is not valid JSON ({exc})") from None
    validate(doc, path)
    return doc


def _fail(path, what: str):
    raise MalformedBaseline(f"baseline {path} is malformed: {what}; remake it with `ganbench baseline`")


def validate(doc, path="<baseline>") -> None:
    if not isinstance(doc, dict):
        _fail(path, "the top level is not a JSON object")
    if doc.get("kind") != KIND:
        _fail(path, f"'kind' is {doc.get('kind')!r}, not {KIND!r}")
    schema = doc.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        _fail(path, "no integer 'schema' field")
    if schema > SCHEMA:
        raise MalformedBaseline(
            f"baseline {path} has schema {schema}, newer than this ganbench reads ({SCHEMA}); upgrade ganbench"
        )
    if schema < 1:
        _fail(path, f"unknown schema {schema}")
    entries = doc.get("entries")
    if not isinstance(entries, list) or not entries:
        _fail(path, "'entries' is missing or empty")
    seen = set()
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            _fail(path, f"entry {i} is not an object")
        for key, kind in ENTRY_FIELDS.items():
            if not isinstance(e.get(key), kind) or (kind is int and isinstance(e.get(key), bool)):
                _fail(path, f"entry {i} has no {kind.__name__} {key!r}")
        where = f"{e['dataset']}/{e['variant']}"
        if (e["dataset"], e["variant"]) in seen:
            _fail(path, f"{where} appears twice")
        seen.add((e["dataset"], e["variant"]))
        missing = [k for k in (*PROTOCOL_CONFIG, *PROTOCOL_EVAL) if k not in e["protocol"]]
        if missing:
            _fail(path, f"the protocol of {where} lacks {', '.join(missing)}")
        if not e["seeds"] or not all(isinstance(s, int) and s >= 0 for s in e["seeds"]):
            _fail(path, f"the seeds of {where} are not a list of integers >= 0")
        if not 1 <= e["n_seeds"] or not 0 <= e["n_diverged"] <= e["n_seeds"]:
            _fail(path, f"{where} has n_seeds {e['n_seeds']} and n_diverged {e['n_diverged']}")
        for metric, m in e["metrics"].items():
            if metric not in DIRECTIONS:
                _fail(path, f"{where} has unknown metric {metric!r}")
            if not isinstance(m, dict) or any(k not in m for k in METRIC_FIELDS):
                _fail(path, f"metric {metric} of {where} lacks one of {', '.join(METRIC_FIELDS)}")
            for k in ("mean", "std"):
                v = m[k]
                if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)):
                    _fail(path, f"{metric} {k} of {where} is not a finite number")
            if not isinstance(m["n"], int) or isinstance(m["n"], bool) or not 0 <= m["n"] <= e["n_seeds"]:
                _fail(path, f"{metric} n of {where} is not a count of seeds (0 to {e['n_seeds']})")
            # The harness decides which way is better; a baseline that says otherwise was edited.
            if "direction" in m and m["direction"] != DIRECTIONS[metric]:
                _fail(path, f"{metric} of {where} says direction {m['direction']!r}; it is {DIRECTIONS[metric]!r}")
