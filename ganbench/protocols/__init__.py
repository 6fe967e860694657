"""Published protocols as data: one TOML file per paper's table (docs/protocols.md).

A protocol holds the citation, the authors' code, the datasets, what the nets are, what a
step counts, the update schedule, the training length, the evaluation schedule, the number
of trials, the kind of error bar, the RunConfig settings of every row (each row a
registered variant), where each setting comes from, and the published table itself.

The registry is a dict filled by `register_protocol`, which refuses a name already taken;
the built-in files in this folder register on import, plugins through `ganbench.api`.
Loading validates everything that needs no variant registry (this package may not import
it: tests/test_layout.py): every setting a RunConfig field with a valid value and a
source, every metric a ranked metric key, every error kind known. That each row's variant
is registered is checked where variants are known (runs/plan.py, tests/test_protocols.py).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .. import config
from ..config import RunConfig
from ..errors import UsageError
from ..metrics.keys import DIRECTIONS
from ..plugins import note_origin, origin_of, refuse
from ..spec import NAME

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The kinds of error bar a paper may print beside its mean over trials.
ERROR_KINDS: dict[str, str] = {
    "sem": "standard error of the mean over the trials (sample std / sqrt(n))",
    "std": "sample standard deviation over the trials (ddof 1)",
}
DESCRIBED = ("nets", "step", "schedule", "length", "evaluation")  # the [describe] texts every file has
# RunConfig fields a protocol may set (identity, device and the run's own bookkeeping are not its to set).
NOT_SETTINGS = ("variant", "dataset", "seed", "profile", "protocol", "device", "cpu_threads", "cuda_graph")
SETTINGS = tuple(f.name for f in dataclasses.fields(RunConfig) if f.name not in NOT_SETTINGS)
# What a protocol must fix itself, so that no profile decides its length or its evaluation.
REQUIRED_SETTINGS = ("steps", "batch_size", "eval_every", "eval_samples", "log_every", "checkpoint_every")


@dataclass(frozen=True)
class Published:
    value: float
    error: float  # of the protocol's error kind


@dataclass(frozen=True)
class Row:
    label: str  # as the paper's table names it
    variant: str  # a registered variant; rows of one protocol map to distinct variants
    settings: Mapping[str, object]  # RunConfig overrides on top of the protocol's
    sources: Mapping[str, str]  # setting -> where it comes from
    published: Mapping[str, Mapping[str, Published]]  # dataset -> metric -> number


# How a sweep protocol picks the score of a trial (report/sweep.py SELECT; tests/test_protocols.py checks they match).
SELECT = ("final", "best-checkpoint")


@dataclass(frozen=True)
class Search:
    """A hyperparameter search study's budget (Lucic et al. 2018): `ganbench sweep --protocol`."""

    space: str  # a built-in search space (runs/space.py)
    trials: int  # sampled configurations per model and dataset
    select: str  # a SELECT value: which evaluation of a trial is its score
    metric: str  # the score
    source: str  # where these come from


@dataclass(frozen=True)
class Protocol:
    name: str
    title: str
    citation: str
    code: str  # the authors' released code
    table: str  # where the published numbers are
    trials: int  # independent runs behind each published mean
    error: str  # an ERROR_KINDS key
    device: str  # what the authors trained on ("cuda" for a GPU)
    datasets: Mapping[str, str]  # ganbench dataset -> which of the paper's it is, and where that is defined
    describe: Mapping[str, str]  # DESCRIBED -> one paragraph each
    settings: Mapping[str, object]  # RunConfig overrides for every row
    dataset_settings: Mapping[str, Mapping[str, object]]  # dataset -> overrides for its runs
    sources: Mapping[str, str]  # setting (or "device") -> where it comes from
    rows: tuple[Row, ...]
    differences: tuple[str, ...]  # where ganbench's runs differ from the authors' code, with the code cited
    file: str = ""
    # A search study's budget; None for a protocol of fixed settings. With one, `trials` is
    # the number of seeds the best configuration was rerun with behind each published mean.
    search: Search | None = None

    def row(self, variant: str) -> Row:
        for row in self.rows:
            if row.variant == variant:
                return row
        raise UsageError(
            f"protocol {self.name} has no row for variant {variant!r}; its rows: "
            + ", ".join(f"{r.variant} ({r.label})" for r in self.rows)
        )

    def overrides(self, variant: str, dataset: str) -> dict:
        """The RunConfig fields a run of this row on this dataset takes from the protocol
        (tuples for the tuple fields), `protocol` included."""
        row = self.row(variant)
        if dataset not in self.datasets:
            raise UsageError(
                f"protocol {self.name} has no dataset {dataset!r}; its datasets: {', '.join(self.datasets)}"
            )
        out = {**self.settings, **self.dataset_settings.get(dataset, {}), **row.settings}
        out = {k: tuple(v) if isinstance(v, list) else v for k, v in out.items()}
        return {**out, "protocol": self.name}

    def deviations(self, configs: list[RunConfig], seeds: list[int]) -> list[str]:
        """Each way these resolved runs of this protocol depart from it, one line each:
        settings that differ from the protocol's, fewer seeds than its trials, another device."""
        out: list[str] = []
        for cfg in configs:
            wanted = self.overrides(cfg.variant, cfg.dataset)
            for key, value in wanted.items():
                ours = getattr(cfg, key)
                if ours != value:
                    line = f"{key.replace('_', '-')} {_show(ours)} (protocol: {_show(value)})"
                    if key == "steps" and isinstance(value, int):
                        line += f", {100 * ours / value:.3g}% of its length"
                    if line not in out:
                        out.append(line)
        if len(set(seeds)) < self.trials:
            n = len(set(seeds))
            out.append(f"{n} seed{'' if n == 1 else 's'} (protocol: {self.trials} trials)")
        devices = sorted({c.device.split(":")[0] for c in configs} - {self.device})
        if devices:
            out.append(f"device {'/'.join(devices)} (protocol: {self.device})")
        return out

    def search_deviations(self, space: str, trials: int, select: str, metric: str | None) -> list[str]:
        """How a sweep's search departs from this protocol's [search], one line each."""
        if self.search is None:
            raise UsageError(
                f"protocol {self.name} is not a search study (it has no [search]); use `ganbench run --protocol`"
            )
        s = self.search
        out = []
        if space != s.space:
            out.append(f"space {space} (protocol: {s.space})")
        if trials != s.trials:
            out.append(f"{trials} trials per variant and dataset (protocol: {s.trials})")
        if select != s.select:
            out.append(f"select {select} (protocol: {s.select})")
        if metric is not None and metric != s.metric:
            out.append(f"metric {metric} (protocol: {s.metric})")
        return out

    def summary(self) -> str:
        rows = ", ".join(f"{r.label}={r.variant}" for r in self.rows)
        return f"{self.title}; rows {rows}; datasets {', '.join(self.datasets)}; {self.trials} trials, ± {self.error}"


def _show(value) -> str:
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value).lower() if isinstance(value, bool) else str(value)


PROTOCOLS: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol) -> Protocol:
    """Register `protocol`; refuses a name that is already registered."""
    if not isinstance(protocol, Protocol):
        raise refuse(f"register_protocol takes a ganbench Protocol, got {type(protocol).__name__}")
    if protocol.name in PROTOCOLS:
        raise refuse(f"protocol {protocol.name!r} is already registered ({origin_of('protocol', protocol.name)})")
    PROTOCOLS[protocol.name] = protocol
    note_origin("protocol", protocol.name)
    return protocol


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UsageError(f"unknown protocol {name!r}; registered: {', '.join(PROTOCOLS) or 'none'}") from None


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate one protocol file (RegistryError, one line, on any problem)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise refuse(f"protocol file {path}: {exc}") from None
    try:
        return parse(data, str(path))
    except _Invalid as exc:
        raise refuse(f"protocol file {path.name}: {exc}") from None


class _Invalid(Exception):
    pass


def _need(table: Mapping, key: str, kind: type | tuple[type, ...], where: str):
    if key not in table:
        raise _Invalid(f"{where} has no {key!r}")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _Invalid(f"{where}: {key!r} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _settings(table: Mapping, datasets, where: str) -> dict:
    for key in table:
        if key not in SETTINGS:
            raise _Invalid(f"{where}: {key!r} is not a setting a protocol may fix; choose from {', '.join(SETTINGS)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    for dataset in datasets:
        try:  # each value as config.validate would take it from the command line
            config.validate(RunConfig(variant="protocol-check", dataset=dataset, **values))
        except (UsageError, TypeError) as exc:
            raise _Invalid(f"{where}: {exc}") from None
    return dict(table)


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Invalid(f"{where}: {value!r} is not a finite number")
    return float(value)


def parse(data: Mapping, file: str = "") -> Protocol:
    """A Protocol from a protocol file's parsed TOML; _Invalid names the first problem."""
    from ..data import DATASETS

    name = _need(data, "name", str, "the file")
    if not NAME.fullmatch(name):
        raise _Invalid(f"protocol name {name!r}: use letters, digits, '.', '_' and '-'")
    where = f"protocol {name}"
    text = {k: _need(data, k, str, where) for k in ("title", "citation", "code", "table")}
    trials = _need(data, "trials", int, where)
    if trials < 1:
        raise _Invalid(f"{where}: trials must be >= 1, got {trials}")
    error = _need(data, "error", str, where)
    if error not in ERROR_KINDS:
        raise _Invalid(f"{where}: unknown error kind {error!r}; known: {', '.join(ERROR_KINDS)}")
    device = _need(data, "device", str, where)
    datasets = _need(data, "datasets", dict, where)
    for ds, note in datasets.items():
        if ds not in DATASETS:
            raise _Invalid(f"{where}: unknown dataset {ds!r}; registered: {', '.join(DATASETS)}")
        if not isinstance(note, str):
            raise _Invalid(f"{where}: datasets.{ds} must say which of the paper's datasets it is")
    describe = _need(data, "describe", dict, where)
    for key in DESCRIBED:
        _need(describe, key, str, f"{where} [describe]")
    settings = _settings(_need(data, "settings", dict, where), datasets, f"{where} [settings]")
    missing = [k for k in REQUIRED_SETTINGS if k not in settings]
    if missing:
        raise _Invalid(f"{where} [settings] must fix {', '.join(missing)} (else a profile would)")
    dataset_settings = {}
    for ds, table in data.get("dataset_settings", {}).items():
        if ds not in datasets:
            raise _Invalid(f"{where}: dataset_settings for {ds!r}, which is not among its datasets")
        dataset_settings[ds] = _settings(table, [ds], f"{where} [dataset_settings.{ds}]")
    sources = _need(data, "sources", dict, where)
    rows, labels, variants = [], set(), set()
    for i, raw in enumerate(_need(data, "rows", list, where)):
        label = _need(raw, "label", str, f"{where} row {i + 1}")
        rwhere = f"{where} row {label!r}"
        variant = _need(raw, "variant", str, rwhere)
        if label in labels or variant in variants:
            raise _Invalid(f"{rwhere}: rows need distinct labels and distinct variants (they name run folders)")
        labels.add(label)
        variants.add(variant)
        row_settings = _settings(raw.get("settings", {}), datasets, f"{rwhere} settings")
        row_sources = raw.get("sources", {})
        for key in {**settings, **row_settings, **{k: 0 for t in dataset_settings.values() for k in t}}:
            if key not in row_sources and key not in sources:
                raise _Invalid(f"{rwhere}: setting {key!r} has no source (add it under [sources])")
        published = {}
        for ds, metrics in _need(raw, "published", dict, rwhere).items():
            if ds not in datasets:
                raise _Invalid(f"{rwhere}: published numbers for {ds!r}, which is not among its datasets")
            published[ds] = {}
            for metric, pair in metrics.items():
                mwhere = f"{rwhere} {ds}.{metric}"
                if metric not in DIRECTIONS:
                    raise _Invalid(f"{mwhere}: unknown metric; ganbench's: {', '.join(DIRECTIONS)}")
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise _Invalid(f"{mwhere}: give [value, error]")
                value, err = (_number(v, mwhere) for v in pair)
                if err < 0:
                    raise _Invalid(f"{mwhere}: a negative error")
                published[ds][metric] = Published(value, err)
        for ds in datasets:  # the row's whole setting on each dataset, as one run would take it
            _settings({**settings, **dataset_settings.get(ds, {}), **row_settings}, [ds], f"{rwhere} on {ds}")
        rows.append(Row(label, variant, row_settings, dict(row_sources), published))
    if not rows:
        raise _Invalid(f"{where} has no rows")
    if "device" not in sources:
        raise _Invalid(f"{where}: device has no source (add it under [sources])")
    differences = data.get("differences", [])
    if not (isinstance(differences, list) and all(isinstance(d, str) for d in differences)):
        raise _Invalid(f"{where}: differences must be a list of strings")
    search = None
    if "search" in data:
        search = _search(_need(data, "search", dict, where), rows, f"{where} [search]")
    return Protocol(
        name=name,
        **text,
        trials=trials,
        error=error,
        device=device,
        datasets=dict(datasets),
        describe={k: describe[k] for k in DESCRIBED},
        settings=settings,
        dataset_settings=dataset_settings,
        sources=dict(sources),
        rows=tuple(rows),
        differences=tuple(differences),
        file=file,
        search=search,
    )


def _search(table: Mapping, rows: list[Row], where: str) -> Search:
    for key in table:
        if key not in ("space", "trials", "select", "metric", "source"):
            raise _Invalid(f"{where}: unknown key {key!r}; a search has space, trials, select, metric and source")
    space = _need(table, "space", str, where)
    trials = _need(table, "trials", int, where)
    if trials < 1:
        raise _Invalid(f"{where}: trials must be >= 1, got {trials}")
    select = _need(table, "select", str, where)
    if select not in SELECT:
        raise _Invalid(f"{where}: select must be one of {', '.join(SELECT)}, got {select!r}")
    metric = _need(table, "metric", str, where)
    if metric not in DIRECTIONS:
        raise _Invalid(f"{where}: unknown metric {metric!r}; ganbench's: {', '.join(DIRECTIONS)}")
    for row in rows:
        for ds, metrics in row.published.items():
            if set(metrics) - {metric}:
                raise _Invalid(
                    f"{where}: row {row.label!r} publishes {', '.join(sorted(metrics))} on {ds}; "
                    f"a search is scored on {metric} alone"
                )
    return Search(space, trials, select, metric, _need(table, "source", str, where))


def _register_builtins() -> None:
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            register_protocol(load_protocol(Path(str(entry))))


_register_builtins()
