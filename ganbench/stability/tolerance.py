"""How far a metric may move before `ganbench check` calls it a regression.

For each metric the check allows a *slack* in the bad direction only (tables.DIRECTIONS:
FID may not rise, modes may not fall; moving the good way always passes):

    slack = max(k * std_over_seeds_in_the_baseline, floor[metric])

The std term scales with how noisy the protocol really is; the floor keeps the check from
failing on noise the baseline's few seeds did not show (a std of 0 when every seed found
all 8 modes, or a single-seed baseline). A floor is absolute, in the metric's own unit,
or relative to the baseline mean when written "5%".

Precedence: defaults here < pyproject.toml [tool.ganbench.check] < command line.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..report.tables import DIRECTIONS

# k: the check compares the mean over seeds now with the baseline's mean. When the numbers
# are not bit-identical (other CPU, other torch), each mean is a fresh draw whose spread is
# about std / sqrt(n_seeds), so their difference spreads by about 0.8 std for 3 seeds:
# 3 std is more than 3.5 of those, rare enough by chance across dozens of rows, yet a
# variant that lost a whole std of quality fails. A std from 3 seeds is itself rough,
# which is what the floors are for.
DEFAULT_STD_MULTIPLIER = 3.0

# Floors: the least slack, for a baseline whose seeds happened to agree.
DEFAULT_FLOORS: dict[str, float | str] = {
    # 2-D mixtures (coverage.py), scored on 2,500 samples.
    "modes": 1.0,  # an integer count: one mode lost on average over the seeds is noise, two is not
    "hq_frac": 0.02,  # a fraction: 2x the largest binomial sd of a share of 2,500 samples (0.01 at p=0.5)
    "reverse_kl": 0.05,  # nats, range 0 .. log K (2.08 for ring8): a few low-count modes move it this much
    # MNIST / Stacked MNIST with the shipped classifier.
    "kl_uniform": 0.02,  # nats, range 0 .. log 10 = 2.3: sampling noise of a 10-bin histogram is ~0.005
    "mnist_is": 0.1,  # range 1 .. 10; its sd over the 10 splits is a few hundredths
    "mnist_fid": "5%",  # scale depends on the classifier's features: relative
    "mnist_density": 0.05,  # about 1 for real data; a k-NN count over a few thousand samples
    "mnist_coverage": 0.02,  # a fraction of the 10,000 reference images
    # Inception metrics (torch-fidelity). FID and IS have no fixed scale, so relative floors.
    "fid": "5%",  # FID's bias and sampling spread at a few thousand samples are a few percent
    "kid_mean": "10%",  # KID is small (1e-3 .. 1e-1) and its subset estimate noisier than FID
    "is_mean": "3%",  # the split-to-split sd of IS is 1-3% of its value
    "precision": 0.02,  # fractions from k-NN manifolds of a few thousand samples
    "recall": 0.02,
    "density": 0.05,  # Naeem et al. 2020, k = 5: about 1 for real data, not bounded by 1
    "coverage": 0.02,
}
# The divergence row: how many more diverged runs than the baseline had are tolerated.
DIVERGED = "diverged"
DEFAULT_EXTRA_DIVERGED = 0

KNOWN_KEYS = (*DIRECTIONS, DIVERGED)
PYPROJECT_TABLE = "tool.ganbench.check"


@dataclass(frozen=True)
class Floor:
    value: float
    relative: bool = False  # value is a fraction of |baseline mean|
    source: str = "default"

    def absolute(self, baseline_mean: float) -> float:
        return self.value * abs(baseline_mean) if self.relative else self.value

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


@dataclass(frozen=True)
class Tolerance:
    std_multiplier: float = DEFAULT_STD_MULTIPLIER
    floors: dict[str, Floor] = field(default_factory=dict)
    extra_diverged: int = DEFAULT_EXTRA_DIVERGED
    sources: tuple[str, ...] = ("defaults",)

    def slack(self, metric: str, mean: float, std: float) -> float:
        floor = self.floors.get(metric, Floor(0.0)).absolute(mean)
        spread = self.std_multiplier * std if std is not None and math.isfinite(std) else 0.0
        return max(spread, floor)

    def describe(self, metrics=None) -> str:
        """One line for under the table; `metrics`: list only these floors."""
        floors = ", ".join(f"{m} {f}" for m, f in self.floors.items() if metrics is None or m in metrics)
        return (
            f"slack = max({self.std_multiplier:g} x std over the baseline's seeds, floor); floors: {floors}; "
            f"extra diverged runs allowed: {self.extra_diverged} (from {', '.join(self.sources)})"
        )


def parse_floor(metric: str, value, source: str) -> Floor:
    """'5%' -> relative, a number or '0.5' -> absolute; anything else is a usage error."""
    text = str(value).strip()
    relative = text.endswith("%")
    try:
        number = float(text[:-1] if relative else text)
    except ValueError:
        raise UsageError(
            f"tolerance for {metric} from {source} must be a number or a percentage like 5%, got {value!r}"
        ) from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise UsageError(f"tolerance for {metric} from {source} must be a finite number >= 0, got {value!r}")
    return Floor(number / 100 if relative else number, relative, source)


def _apply(tol: dict, items: dict, source: str) -> None:
    for key, value in items.items():
        if key == "std_multiplier" or key == "k":
            k = parse_floor("std_multiplier", value, source)
            if k.relative:
                raise UsageError(f"std_multiplier from {source} must be a plain number, got {value!r}")
            tol["std_multiplier"] = k.value
        elif key == DIVERGED:
            n = parse_floor(DIVERGED, value, source)
            if n.relative or not float(n.value).is_integer():
                raise UsageError(f"tolerance for {DIVERGED} from {source} must be a whole number, got {value!r}")
            tol["extra_diverged"] = int(n.value)
        elif key in DIRECTIONS:
            tol["floors"][key] = parse_floor(key, value, source)
        else:
            raise UsageError(
                f"unknown tolerance key {key!r} in {source}; choose from: std_multiplier, {', '.join(KNOWN_KEYS)}"
            )


def parse_cli_overrides(pairs) -> dict:
    """['modes=2', 'fid=5%'] -> {'modes': '2', 'fid': '5%'}."""
    out = {}
    for pair in pairs or ():
        key, sep, value = str(pair).partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--tolerance takes METRIC=VALUE (for example modes=2 or fid=5%), got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml in `start` (default: the working directory) or a parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_pyproject(path: Path) -> dict:
    """The [tool.ganbench.check] table of `path` ({} when absent)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix it or run from another folder") from None
    table = data.get("tool", {}).get("ganbench", {}).get("check", {})
    if not isinstance(table, dict):
        raise UsageError(f"[{PYPROJECT_TABLE}] in {path} must be a table")
    return table


def resolve_tolerance(
    cli_overrides: dict | None = None, std_multiplier: float | None = None, pyproject: Path | None | bool = True
) -> Tolerance:
    """Defaults, then pyproject.toml (`pyproject=True`: the nearest one; a path; or False:
    none), then the command line."""
    tol: dict = {
        "std_multiplier": DEFAULT_STD_MULTIPLIER,
        "floors": {m: parse_floor(m, v, "default") for m, v in DEFAULT_FLOORS.items()},
        "extra_diverged": DEFAULT_EXTRA_DIVERGED,
    }
    sources = ["defaults"]
    path = find_pyproject() if pyproject is True else (pyproject or None)
    if path is not None:
        table = read_pyproject(Path(path))
        # Either flat keys (modes = 2) or a [tool.ganbench.check.tolerance] sub-table.
        nested = table.get("tolerance", {})
        if not isinstance(nested, dict):
            raise UsageError(f"[{PYPROJECT_TABLE}.tolerance] in {path} must be a table")
        flat = {k: v for k, v in table.items() if k != "tolerance"}
        if flat or nested:
            _apply(tol, {**flat, **nested}, f"{path} [{PYPROJECT_TABLE}]")
            sources.append(str(path))
    if cli_overrides:
        _apply(tol, cli_overrides, "--tolerance")
        sources.append("--tolerance")
    if std_multiplier is not None:
        _apply(tol, {"std_multiplier": std_multiplier}, "--std-multiplier")
        sources.append("--std-multiplier")
    return Tolerance(tol["std_multiplier"], tol["floors"], tol["extra_diverged"], tuple(sources))
