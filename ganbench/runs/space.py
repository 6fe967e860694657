"""Search spaces for `ganbench sweep`: data files (TOML or YAML), and the seeded sampler.

A space file holds an [all] table of parameters for every variant and [variants.NAME]
tables that add to or replace them for one variant (ganbench/spaces/lucic-wide.toml is the
annotated example). A parameter is a RunConfig hyperparameter field or one of the aliases
`lr` (lr_d and lr_g, one value), `beta1` and `beta2` (the entries of `betas`); a value is
fixed, or one of the distributions in DISTRIBUTIONS.

Sampling is seeded per (sample seed, dataset, variant, trial, parameter): trial k of a
variant draws the same values whatever the other variants, trials or parameters are, so
`--trials 32` extends `--trials 16` with 16 new trials and keeps the first 16.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import TUPLE_FIELDS, RunConfig
from ..errors import UsageError

SPACES_DIR = Path(__file__).resolve().parent.parent / "spaces"
BUILTIN = {p.stem: p for p in sorted(SPACES_DIR.glob("*.toml"))}
DISTRIBUTIONS = ("uniform", "log10_uniform", "int_uniform", "choice")
ALIASES = {"lr": ("lr_d", "lr_g"), "beta1": ("betas",), "beta2": ("betas",)}
# RunConfig fields a space may not set: what a run is, where and how it is trained.
NOT_SAMPLED = {"variant", "dataset", "seed", "profile", "device", "deterministic", "cpu_threads", "cuda_graph"}


def sampled_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(RunConfig)} - NOT_SAMPLED


@dataclass(frozen=True)
class Param:
    name: str
    value: object  # the fixed value, or the distribution's argument (range or choices)
    dist: str | None = None  # None: fixed

    def draw(self, rng: np.random.Generator):
        if self.dist is None:
            return self.value
        if self.dist == "choice":
            return self.value[int(rng.integers(len(self.value)))]
        lo, hi = self.value
        if self.dist == "uniform":
            return float(rng.uniform(lo, hi))
        if self.dist == "log10_uniform":
            return float(10.0 ** rng.uniform(lo, hi))
        return int(rng.integers(lo, hi + 1))  # int_uniform, both ends included

    def describe(self) -> str:
        if self.dist is None:
            return f"{self.value!r}"
        if self.dist == "log10_uniform":
            return f"10^U[{self.value[0]}, {self.value[1]}]"
        if self.dist == "uniform":
            return f"U[{self.value[0]}, {self.value[1]}]"
        if self.dist == "int_uniform":
            return f"{self.value[0]}..{self.value[1]}"
        return "one of " + ", ".join(map(repr, self.value))


@dataclass(frozen=True)
class Space:
    name: str
    source: str  # "built-in" or the file's path
    sha256: str
    everyone: dict[str, Param]
    per_variant: dict[str, dict[str, Param]]
    citation: str = ""

    def params(self, variant: str) -> dict[str, Param]:
        """The parameters sampled for `variant`: [all], then its own table on top."""
        return {**self.everyone, **self.per_variant.get(variant, {})}

    def record(self) -> dict:
        """What sweep.json records about the space."""
        return {
            "name": self.name,
            "source": self.source,
            "sha256": self.sha256,
            "citation": self.citation,
            "all": {k: p.describe() for k, p in self.everyone.items()},
            "variants": {v: {k: p.describe() for k, p in ps.items()} for v, ps in self.per_variant.items()},
        }


def load_space(name_or_file: str | Path) -> Space:
    """A built-in space by name (lucic-wide, lucic-narrow) or a TOML/YAML file; a UsageError
    (one line) for anything else, naming what is wrong."""
    key = str(name_or_file)
    if key in BUILTIN:
        path, source = BUILTIN[key], "built-in"
    else:
        path, source = Path(key), str(Path(key).resolve())
        if not path.is_file():
            raise UsageError(f"--space {key}: no such file, and not a built-in space ({', '.join(BUILTIN)})")
    raw = path.read_bytes()
    doc = _parse(path, raw)
    if not isinstance(doc, dict):
        raise UsageError(f"space {path}: expected a table at the top level")
    unknown = set(doc) - {"space", "citation", "all", "variants"}
    if unknown:
        raise UsageError(f"space {path}: unknown top-level key(s) {', '.join(sorted(unknown))}; use all, variants")
    variants = doc.get("variants") or {}
    if not isinstance(variants, dict) or not all(isinstance(t, dict) for t in variants.values()):
        raise UsageError(f"space {path}: [variants] must hold one table per variant name")
    return Space(
        name=str(doc.get("space") or path.stem),
        source=source,
        sha256=hashlib.sha256(raw).hexdigest(),
        everyone=_params(path, "all", doc.get("all") or {}),
        per_variant={str(v): _params(path, f"variants.{v}", t) for v, t in variants.items()},
        citation=str(doc.get("citation") or ""),
    )


def _parse(path: Path, raw: bytes):
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise UsageError(
                f"space {path}: reading YAML needs PyYAML (pip install pyyaml), or write it as TOML"
            ) from None
        try:
            return yaml.safe_load(raw.decode())
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise UsageError(f"space {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"space {path}: not valid TOML ({exc}); a .yaml/.yml file is read as YAML") from None


def _params(path: Path, table: str, items) -> dict[str, Param]:
    if not isinstance(items, dict):
        raise UsageError(f"space {path}: [{table}] must be a table of parameters")
    allowed = sampled_fields() | set(ALIASES)
    out = {}
    for name, spec in items.items():
        where = f"space {path}: {table}.{name}"
        if name not in allowed:
            raise UsageError(f"{where}: not a parameter a sweep can set; choose from {', '.join(sorted(allowed))}")
        out[name] = _param(where, name, spec)
    if "lr" in out and ({"lr_d", "lr_g"} & set(out)):
        raise UsageError(f"space {path}: [{table}] sets lr and lr_d/lr_g; lr already sets both")
    return out


def _param(where: str, name: str, spec) -> Param:
    if not isinstance(spec, dict):
        return Param(name, spec)
    if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise UsageError(f"{where}: a distribution is one of {{{', '.join(f'{d} = ...' for d in DISTRIBUTIONS)}}}")
    dist, arg = next(iter(spec.items()))
    if dist == "choice":
        if not isinstance(arg, list) or not arg:
            raise UsageError(f"{where}: choice needs a non-empty list")
        return Param(name, list(arg), dist)
    if not (isinstance(arg, list) and len(arg) == 2 and all(_real(x) for x in arg) and arg[0] <= arg[1]):
        raise UsageError(f"{where}: {dist} needs [low, high] with low <= high")
    if dist == "int_uniform" and not all(isinstance(x, int) for x in arg):
        raise UsageError(f"{where}: int_uniform needs integer ends")
    return Param(name, list(arg), dist)


def _real(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _stream(*keys: int | str) -> np.random.Generator:
    words = [k if isinstance(k, int) else zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def sample(space: Space, variant: str, dataset: str, trial: int, seed: int = 0) -> dict:
    """Trial `trial`'s parameter values for `variant` on `dataset` (names as in the space)."""
    return {
        name: param.draw(_stream(seed, dataset, variant, trial, name))
        for name, param in sorted(space.params(variant).items())
    }


def to_fields(values: dict, betas: tuple[float, float]) -> dict:
    """Sampled values as RunConfig fields; `betas` (the variant's) fills the beta not sampled."""
    fields = {k: v for k, v in values.items() if k not in ALIASES}
    if "lr" in values:
        fields["lr_d"] = fields["lr_g"] = values["lr"]
    if "beta1" in values or "beta2" in values:
        fields["betas"] = (float(values.get("beta1", betas[0])), float(values.get("beta2", betas[1])))
    for key in TUPLE_FIELDS:  # a space file writes them as lists
        if isinstance(fields.get(key), list):
            fields[key] = tuple(fields[key])
    return fields
