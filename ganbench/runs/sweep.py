"""What `ganbench sweep` trains, and where: its trials and the reruns of each variant's best.

Layout of a sweep folder DIR:
  DIR/sweep.json                                 the sweep: space, sample seed, trials, length
  DIR/trials/t<k>/<dataset>/<variant>/seed0/     trial k of a variant: an ordinary run directory
                                                 (its sampled hyperparameters are its config)
  DIR/trials/t<k>/<dataset>/<variant>/trial.json which trial of which sweep, and its sampled values
  DIR/best/<dataset>/<variant>/seed<s>/          the best trial's config again, seeds 1..K
  DIR/report/                                    tables and plots (report/sweep.py)
Each trial folder DIR/trials/t<k> is a run folder as `ganbench run --out` writes one, so
resume, skip and locks are those of every suite, and `ganbench table DIR/trials/t003` works.
The reruns use seeds other than the trial's (seed 0): the best trial's own score is the best
of N, biased upward; fresh seeds score its configuration without that bias.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import RunConfig
from ..rundir import RunDir, atomic_write_json, read_json
from . import space as spaces
from .plan import resolve

TRIALS, BEST, REPORT = "trials", "best", "report"
MANIFEST, TRIAL_RECORD = "sweep.json", "trial.json"
TRIAL_SEED = 0


@dataclass(frozen=True)
class Trial:
    index: int  # 1-based, per variant and dataset
    values: dict  # the sampled values, as the space names them
    cfg: RunConfig  # resolved
    out: Path  # its run folder (RunOptions.out)

    @property
    def run_dir(self) -> RunDir:
        return RunDir(self.out, self.cfg.dataset, self.cfg.variant, self.cfg.seed)


def trial_out(root: Path, index: int) -> Path:
    return Path(root) / TRIALS / f"t{index:03d}"


def best_out(root: Path) -> Path:
    return Path(root) / BEST


def plan_trials(
    space: spaces.Space,
    variants: list[str],
    datasets: list[str],
    n_trials: int,
    root: Path,
    overrides: dict,
    sample_seed: int = 0,
    fixed: Callable[[str, str], dict] | None = None,
) -> list[Trial]:
    """n_trials sampled configs for every (dataset, variant): equal budgets. `overrides` are
    the RunConfig fields every trial shares (profile, steps, device, ...); `fixed(variant,
    dataset)`, a protocol's settings for that row (Protocol.overrides), lie under them. A
    field the space samples may be set by neither."""
    from ..errors import UsageError

    trials = []
    for ds in datasets:
        for variant in variants:
            shared = {**(fixed(variant, ds) if fixed else {}), **overrides}
            base = resolve(RunConfig(variant=variant, dataset=ds, seed=TRIAL_SEED, **shared))
            for k in range(1, n_trials + 1):
                values = spaces.sample(space, variant, base.dataset, k, sample_seed)
                fields = spaces.to_fields(values, base.betas)
                clash = sorted(set(fields) & set(overrides))
                if clash:
                    raise UsageError(f"the space samples {', '.join(clash)}; do not also set it on the command line")
                fixed_clash = sorted(set(fields) & (set(shared) - set(overrides)))
                if fixed_clash:
                    raise UsageError(
                        f"the protocol fixes {', '.join(fixed_clash)} for {variant} on {ds}, "
                        f"which space {space.name} samples; use a space that leaves them alone"
                    )
                cfg = resolve(RunConfig(variant=variant, dataset=ds, seed=TRIAL_SEED, **shared, **fields))
                trials.append(Trial(k, values, cfg, trial_out(root, k)))
    return trials


def base_configs(
    variants: list[str], datasets: list[str], overrides: dict, fixed: Callable[[str, str], dict] | None = None
) -> list[RunConfig]:
    """Each (dataset, variant)'s resolved config before sampling: what a protocol's
    deviations are measured on (the sampled fields are the search's, not departures)."""
    return [
        resolve(RunConfig(variant=v, dataset=ds, seed=TRIAL_SEED, **{**(fixed(v, ds) if fixed else {}), **overrides}))
        for ds in datasets
        for v in variants
    ]


def rerun_configs(best: dict[tuple[str, str], RunConfig], seeds: int) -> list[RunConfig]:
    """The best config of each (dataset, variant) with seeds 1..`seeds`."""
    return [cfg.replace(seed=s) for cfg in best.values() for s in range(TRIAL_SEED + 1, TRIAL_SEED + 1 + seeds)]


def write_records(root: Path, manifest: dict, trials: list[Trial]) -> None:
    """sweep.json, and each trial's trial.json beside its run directory (written before any run)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    old = read_json(root / MANIFEST)
    if old is not None and old.get("space", {}).get("sha256") != manifest["space"]["sha256"]:
        from ..errors import ConfigMismatch

        raise ConfigMismatch(f"{root} holds a sweep over another space ({old['space'].get('name')}); use another --out")
    atomic_write_json(root / MANIFEST, manifest)
    for t in trials:
        path = t.run_dir.path.parent / TRIAL_RECORD
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            path,
            {
                "sweep": str(root.resolve()),
                "space": manifest["space"]["name"],
                "sample_seed": manifest["sample_seed"],
                "trial": t.index,
                "values": t.values,
                "run": str(t.run_dir.path.relative_to(root)),
            },
        )


def is_sweep(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()
