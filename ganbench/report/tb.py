"""TensorBoard event files in <run>/tb/, written while a run trains or rebuilt afterwards.

    train/<loss>     every loss of a train record, at its step
    eval/<metric>    every number of an eval record (not its protocol or reasons), at its step
    samples          the 8x8 sample grid, or the 2-D scatter, at each evaluation
    config           the resolved config.json, as text, at step 0

`TensorBoard` is a RunOptions observer (see rundir.py): the run directory hands it each
record it appends, so the loop holds no TensorBoard code and the core never imports it.
A resume first truncates metrics.jsonl to its checkpoint's step s; the writer then opens
with purge_step = s + 1, so TensorBoard drops the events a killed or stopped run wrote
after s and its curves never double. `export` rebuilds the files from metrics.jsonl, for
runs trained without --tensorboard (no sample grids at each evaluation: only the final
samples.png of a finished run).

Writing needs the `tensorboard` package (torch.utils.tensorboard imports it): the extra
`pip install 'ganbench[tensorboard]'`. Without it `require()` says so in one line.
"""

from __future__ import annotations

import io
import json
import math
import shutil

import numpy as np

from ..core.samples import GRID_IMAGES, SCATTER_POINTS, scatter_points_png
from ..errors import RunError, UsageError
from ..rundir import RunDir

INSTALL = "TensorBoard logging needs the tensorboard package: pip install 'ganbench[tensorboard]'"


def require() -> None:
    """A one-line UsageError (exit 2) unless torch.utils.tensorboard can be imported."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL) from None


class TensorBoard:
    """The observer factory RunOptions.observers holds: picklable (it holds nothing), so job
    processes open their own writers."""

    def __call__(self, run_dir: RunDir, cfg=None, data=None, sampler=None) -> RunEvents:
        return RunEvents(run_dir, data, sampler)


class RunEvents:
    """One run's event writer, opened at the first record it is handed."""

    def __init__(self, run_dir: RunDir, data=None, sampler=None):
        self.run_dir, self.data, self.sampler = run_dir, data, sampler
        self._writer = None
        self._purge_step: int | None = None

    def truncated(self, last_step: int) -> None:
        """A resume from `last_step`: hide the events after it, or, when this run has no event
        files yet (trained so far without --tensorboard), write the records it keeps."""
        if any(self.run_dir.tb_dir.glob("events.out.tfevents.*")):
            self._purge_step = last_step + 1
        else:
            for record in self.run_dir.read_metrics():
                self.record(record, image=False)

    def record(self, record: dict, image: bool = True) -> None:
        writer = self._open()
        step = int(record.get("step", 0))
        kind = record.get("type", "record")
        for key, value in record.items():
            if key not in ("type", "step") and isinstance(value, (int, float)) and not isinstance(value, bool):
                writer.add_scalar(f"{kind}/{key}", value, step)
        if image and kind == "eval" and self.sampler is not None and self.data is not None:
            picture, layout = sample_image(self.sampler, self.data, f"step {step}")
            writer.add_image("samples", picture, step, dataformats=layout)
        writer.flush()  # a killed run keeps every event up to its last record

    def _open(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            fresh = not any(self.run_dir.tb_dir.glob("events.out.tfevents.*"))
            self._writer = SummaryWriter(str(self.run_dir.tb_dir), purge_step=self._purge_step)
            config = self.run_dir.read_config()
            if fresh and config is not None:
                self._writer.add_text("config", "```json\n" + json.dumps(config, indent=2) + "\n```", 0)
        return self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def sample_image(sampler, data, title: str = "") -> tuple[np.ndarray, str]:
    """What samples.png shows, drawn from the fixed evaluation noise: (image, dataformats)."""
    if data.kind == "images":
        from torchvision.utils import make_grid

        grid = make_grid(sampler.sample(GRID_IMAGES).add(1).div(2).clamp(0, 1), nrow=8, padding=2)
        return grid.numpy(), "CHW"
    import torch
    from PIL import Image

    centres = data.extras.get("centres", torch.empty(0, 2))
    png = scatter_points_png(sampler.sample(SCATTER_POINTS).numpy(), centres.numpy(), title)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), "HWC"


def export(path) -> int:
    """Rebuild <run>/tb/ from the run's metrics.jsonl (and config.json, and the final
    samples.png of a finished run); returns the number of records written."""
    require()
    run_dir = RunDir.at(path)
    records = run_dir.read_metrics()
    if not run_dir.metrics_path.is_file() or run_dir.read_config() is None:
        raise RunError(f"{run_dir.path} is not a run directory (no metrics.jsonl and config.json)")
    if run_dir.is_locked():
        raise RunError(f"{run_dir.path} is being trained; export it when it ends (or train with --tensorboard)")
    shutil.rmtree(run_dir.tb_dir, ignore_errors=True)
    events = RunEvents(run_dir)
    try:
        for record in records:
            events.record(record)
        status = run_dir.read_status() or {}
        if status.get("status") == "done" and run_dir.samples_path.is_file() and _finite(status.get("step")):
            from PIL import Image

            with Image.open(run_dir.samples_path) as im:
                picture = np.asarray(im.convert("RGB"))
            events._open().add_image("samples", picture, int(status["step"]), dataformats="HWC")
    finally:
        events.close()
    return len(records)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
