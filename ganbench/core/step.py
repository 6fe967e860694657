"""The training step: nets, optimisers and one generator update with its critic updates.

`Trainer` knows nothing about files or variants' names: n_critic, the loss pair, the
penalty and the normalisation all come in as data (a `Variant` and a resolved
`RunConfig`). The step is written so a CUDA graph can capture it whole:
- static shapes (the batch size never changes),
- data indices and noise drawn on the device from the run's own generator,
- no host synchronisation: losses are summed into a device tensor and read only every
  log interval (`read_losses`).
On CUDA with `cfg.cuda_graph`, `run_steps` warms up eagerly, captures one `train_step`
and replays it (see cuda/graph.py); the eager step is the reference and the CPU path.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch import Tensor, nn

from ..config import RunConfig
from ..data import Dataset
from ..nets import build_nets
from ..seeding import Generators
from ..spec import Variant
from .cuda import order as autograd_order
from .cuda.graph import GraphedStep
from .samples import Sampler


def make_optimizer(kind: str, params, lr: float, betas: tuple[float, float], capturable: bool) -> torch.optim.Optimizer:
    if kind == "adam":
        # The fused kernel is deterministic, about 4x faster than the per-tensor loop on a
        # CPU, and one launch per step on CUDA. It keeps Adam's step counter on the device;
        # capturable=True (CUDA graphs only) lets a capture record the whole update.
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True, capturable=capturable)
    if kind == "sgd":
        # Nothing to declare for graphs: no step counter, and the momentum buffers exist
        # after the first (warm-up) step.
        return torch.optim.SGD(params, lr=lr, momentum=betas[0])
    raise ValueError(f"unknown optimizer {kind!r}")


def order_guard_needed(device: torch.device, double_backward: bool) -> bool:
    """Only a CUDA step with a double backward creates nodes on another thread."""
    return double_backward and device.type == "cuda" and autograd_order.supported()


class Trainer:
    # Positions in the device-side sum of losses since the last log.
    D_LOSS, G_LOSS, PENALTY = 0, 1, 2

    def __init__(self, cfg: RunConfig, variant: Variant, data: Dataset):
        if not cfg.is_resolved:
            raise ValueError("Trainer needs a resolved RunConfig (see config.resolve)")
        self.cfg, self.variant, self.data = cfg, variant, data
        self.device = torch.device(cfg.device)
        g, d = build_nets(variant.arch, cfg.z_dim, data.shape, variant.g_norm, variant.d_norm)
        self.g: nn.Module = g.to(self.device)
        self.d: nn.Module = d.to(self.device)
        self.graphed = self.device.type == "cuda" and cfg.cuda_graph
        capturable = self.graphed
        self.opt_g = make_optimizer(variant.optimizer, self.g.parameters(), cfg.lr_g, cfg.betas, capturable)
        self.opt_d = make_optimizer(variant.optimizer, self.d.parameters(), cfg.lr_d, cfg.betas, capturable)
        self.gens = Generators.create(cfg.seed, cfg.eval_seed, self.device)
        self.penalty = variant.d_penalty if cfg.penalty_weight else None
        # A double backward on CUDA numbers its nodes on autograd's worker thread: pin the
        # backward order so the run does not depend on what ran before it (autograd_order).
        double_backward = self.penalty is not None
        self.order_guard = (
            autograd_order.OrderGuard(self.device) if order_guard_needed(self.device, double_backward) else None
        )
        self.sums = torch.zeros(3, device=self.device)  # (d_loss, g_loss, penalty) since last log
        self.steps_in_sums = 0
        self.step = 0  # generator steps done
        self._graph = self._new_graph()
        # What evaluators and samples.png see: G alone, fed from the evaluation stream.
        self.sampler = Sampler(self.g, cfg.z_dim, self.device, cfg.eval_seed)

    def _new_graph(self) -> GraphedStep | None:
        if not self.graphed:
            return None
        return GraphedStep(self.train_step, self.gens, self.device, around_step=self._guarded)

    def _guarded(self):
        """The context every eagerly run or captured step runs in."""
        return self.order_guard.step() if self.order_guard is not None else contextlib.nullcontext()

    @property
    def step_mode(self) -> str:
        """How steps run: "cuda-graph" or "eager" (see `step_mode_reason`)."""
        return self._graph.mode if self._graph is not None else "eager"

    @property
    def step_mode_reason(self) -> str:
        if self._graph is None:
            return "CPU" if self.device.type != "cuda" else "CUDA graph turned off (--no-cuda-graph)"
        if self._graph.failure:
            return self._graph.failure
        if self._graph.replay is not None:
            return f"captured after {self._graph.warmed} eager warm-up steps"
        return f"warming up ({self._graph.warmed} eager steps so far)"

    @property
    def graph_failure(self) -> str | None:
        """Why a CUDA graph was wanted but the steps run eagerly, or None."""
        return self._graph.failure if self._graph is not None else None

    # --- the step ------------------------------------------------------------------
    def _noise(self) -> Tensor:
        return torch.randn(self.cfg.batch_size, self.cfg.z_dim, generator=self.gens.train, device=self.device)

    def train_step(self) -> None:
        """n_critic discriminator updates, then one generator update. No host sync."""
        cfg, gen = self.cfg, self.gens.train
        d_total = torch.zeros((), device=self.device)
        pen_total = torch.zeros((), device=self.device)
        fake = None
        for i in range(cfg.n_critic):
            real = self.data.sample(cfg.batch_size, gen)  # (B, *shape)
            last = i == cfg.n_critic - 1
            # The last critic step keeps G's graph: the generator update reuses this fake
            # batch (as the PyTorch GAN examples do), saving one generator forward pass.
            with torch.set_grad_enabled(last):
                fake = self.g(self._noise())  # (B, *shape)
            d_loss = self.variant.d_loss(self.d(real), self.d(fake.detach()))
            if self.penalty is not None:
                pen = self.penalty(self.d, real, fake, generator=gen, weight=cfg.penalty_weight)
                d_loss = d_loss + pen
                pen_total = pen_total + pen.detach()
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            d_total = d_total + d_loss.detach()

        self.d.requires_grad_(False)  # G's update needs no gradients for D's weights
        try:
            g_loss = self.variant.g_loss(self.d(fake))
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
        finally:  # a failed graph capture must not leave D frozen
            self.d.requires_grad_(True)

        step_losses = torch.stack([d_total / cfg.n_critic, g_loss.detach(), pen_total / cfg.n_critic])
        self.sums.add_(step_losses)

    def run_steps(self, n: int) -> None:
        if self._graph is not None:
            self._graph.run(n)  # warm-up, capture, replays
        else:
            for _ in range(n):
                with self._guarded():
                    self.train_step()
        self.steps_in_sums += n
        self.step += n

    # --- reading out (host syncs happen only here) -----------------------------------
    def read_losses(self) -> dict[str, float]:
        """Mean losses since the last read; resets the sums. One host sync."""
        means = (self.sums / max(self.steps_in_sums, 1)).tolist()
        self.sums.zero_()
        self.steps_in_sums = 0
        out = {"d_loss": means[self.D_LOSS], "g_loss": means[self.G_LOSS]}
        if self.penalty is not None:
            out["penalty"] = means[self.PENALTY]
        return out

    def divergence(self, losses: dict[str, float], bound: float) -> str | None:
        """Why the run has diverged (a loss NaN, Inf or beyond `bound`, a weight NaN), or None."""
        for name, value in losses.items():
            if not math.isfinite(value):
                return f"{name} is {value}"
            if abs(value) > bound:
                return f"|{name}| = {abs(value):.3g} exceeds the bound {bound:g}"
        return None if self.weights_finite() else "a network weight is NaN or Inf"

    def weights_finite(self) -> bool:
        flags = [p.detach().isfinite().all() for p in (*self.g.parameters(), *self.d.parameters())]
        return bool(torch.stack(flags).all())

    def sample(self, n: int, generator: torch.Generator, batch: int = 500) -> Tensor:
        """n generated samples on the CPU (see `Sampler.sample`)."""
        return self.sampler.sample(n, generator, batch)

    # --- checkpointing ---------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "g": self.g.state_dict(),
            "d": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sums": self.sums.clone(),
            "steps_in_sums": self.steps_in_sums,
            "trainer_step": self.step,
        }

    def load_state_dict(self, state: dict) -> None:
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])  # new state tensors: a graph must be captured anew
        self._graph = self._new_graph()
        self.sums.copy_(state["sums"].to(self.device))
        self.steps_in_sums = state["steps_in_sums"]
        self.step = state["trainer_step"]
