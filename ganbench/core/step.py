"""The training step: nets, optimisers and one iteration of critic and generator updates.

`Trainer` knows nothing about files or variants' names: n_critic, the loss pair, the
penalty, the nets and the schedule all come in as data (a `Variant` and a resolved
`RunConfig`). One iteration (`train_step`) is, by the config's fields:
- alternating (default): n_critic D updates, each on a new real batch and new z; then
  g_steps G updates. The first G update reuses the last critic batch's fake (its z and
  its forward pass, as the PyTorch GAN examples do); each further one a new forward on
  the same z (PacGAN's Stacked MNIST code runs g_optim twice on one feed_dict:
  VEEGAN_experiment/model.py:191-212). With fresh_g_noise every G update draws new z
  (Gulrajani et al.'s and Miyato et al.'s released code build G's loss on its own noise).
- simultaneous: one real batch and one z; D's gradient of its loss and G's of its own,
  both from the same (pre-step) parameters, then both optimisers step: the ALI algorithm
  PacGAN's 2-D code trains with (IshmaelBelghazi/ALI, ali/algorithms.py:28-43, called at
  fjxmlzn/PacGAN, 2DRing_GAN&PacGAN/pacgan_task.py:158).
- packing m: D judges m samples concatenated (nets.packed_shape). As in PacGAN's code, a
  step feeds D batch_size packed examples: batch_size * m real samples, and G runs m times
  on batch_size z each (its BatchNorm statistics per run), the i-th run giving every
  packed example's i-th slot (pacgan/bricks.py:62-67, VEEGAN_experiment/model.py:104-116).
  PacGAN fixes which m real points share a packed example when it builds the dataset
  (pacgan/datasets.py:73-76, VEEGAN_experiment/model.py:379-384); here every step draws
  its batch_size * m real samples afresh (from the fixed set, with train_size).
The step is written so a CUDA graph can capture it whole:
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
from ..data import Dataset, fixed_training_set
from ..nets import build_nets, net_options
from ..seeding import Generators, data_generator
from ..spec import Variant
from .cuda import order as autograd_order
from .cuda.graph import GraphedStep
from .samples import Sampler, draw_noise


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
        self.device = torch.device(cfg.device)
        if cfg.train_size is not None:
            data = fixed_training_set(data, cfg.train_size, data_generator(cfg.seed, self.device))
        self.cfg, self.variant, self.data = cfg, variant, data
        g, d = build_nets(cfg.arch, cfg.z_dim, data.shape, cfg.g_norm, cfg.d_norm, net_options(cfg))
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
        self.sampler = Sampler(self.g, cfg.z_dim, self.device, cfg.eval_seed, cfg.noise)

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
        """z for one batch: (batch_size * pack, z_dim)."""
        cfg = self.cfg
        return draw_noise(cfg.noise, cfg.batch_size * cfg.pack, cfg.z_dim, self.gens.train, self.device)

    def _real(self) -> Tensor:
        """One real batch as D sees it: (B, *shape), packed (B, m * shape[0], ...)."""
        cfg = self.cfg
        real = self.data.sample(cfg.batch_size * cfg.pack, self.gens.train)  # (B*m, *shape)
        return real if cfg.pack == 1 else torch.cat(real.chunk(cfg.pack), dim=1)

    def _fake(self, z: Tensor) -> Tensor:
        """G(z) as D sees it: (B, *shape), or m runs of G on B z each, packed."""
        if self.cfg.pack == 1:
            return self.g(z)
        return torch.cat([self.g(part) for part in z.chunk(self.cfg.pack)], dim=1)

    def _d_loss(self, real: Tensor, fake: Tensor, through_g: bool = False) -> tuple[Tensor, Tensor | None, Tensor]:
        """(D's loss with its penalty, the penalty or None, D's scores of `fake`). D scores
        the real batch first, then the fake one (the order fixes BatchNorm's running
        statistics and spectral norm's power iterations). `through_g` keeps the fake
        scores' graph into G (the simultaneous step's G loss uses them)."""
        d_real = self.d(real)
        d_fake = self.d(fake if through_g else fake.detach())
        d_loss = self.variant.d_loss(d_real, d_fake)
        if self.penalty is None:
            return d_loss, None, d_fake
        pen = self.penalty(self.d, real, fake, generator=self.gens.train, weight=self.cfg.penalty_weight)
        return d_loss + pen, pen, d_fake

    def train_step(self) -> None:
        """One iteration: alternating or simultaneous updates (module docstring). No host sync."""
        if self.cfg.simultaneous:
            self._simultaneous_step()
        else:
            self._alternating_step()

    def _alternating_step(self) -> None:
        cfg = self.cfg
        d_total = torch.zeros((), device=self.device)
        pen_total = torch.zeros((), device=self.device)
        fake = z = None
        for i in range(cfg.n_critic):
            real = self._real()  # (B, *shape)
            # The last critic step keeps G's graph unless the G step draws its own z: the
            # generator update reuses this fake batch, saving one generator forward pass.
            keep = i == cfg.n_critic - 1 and not cfg.fresh_g_noise
            z = self._noise()
            with torch.set_grad_enabled(keep):
                fake = self._fake(z)  # (B, *shape)
            d_loss, pen, _ = self._d_loss(real, fake)
            if pen is not None:
                pen_total = pen_total + pen.detach()
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            d_total = d_total + d_loss.detach()

        self.d.requires_grad_(False)  # G's update needs no gradients for D's weights
        try:
            g_total = None
            for j in range(cfg.g_steps):
                if cfg.fresh_g_noise:
                    fake = self._fake(self._noise())
                elif j > 0:
                    fake = self._fake(z)  # the same z, through the updated G
                g_loss = self.variant.g_loss(self.d(fake))
                self.opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                self.opt_g.step()
                g_total = g_loss.detach() if g_total is None else g_total + g_loss.detach()
        finally:  # a failed graph capture must not leave D frozen
            self.d.requires_grad_(True)
        g_mean = g_total if cfg.g_steps == 1 else g_total / cfg.g_steps
        step_losses = torch.stack([d_total / cfg.n_critic, g_mean, pen_total / cfg.n_critic])
        self.sums.add_(step_losses)

    def _simultaneous_step(self) -> None:
        """D and G each take the gradient of their own loss on one batch, from the same
        parameters, then both step: D's gradients hold nothing of G's loss (each backward
        goes into its own net's parameters only)."""
        real, fake = self._real(), self._fake(self._noise())  # (B, *shape) each
        d_loss, pen, d_fake = self._d_loss(real, fake, through_g=True)  # one D pass on fake serves both losses
        g_loss = self.variant.g_loss(d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        d_params, g_params = list(self.d.parameters()), list(self.g.parameters())
        d_loss.backward(inputs=d_params, retain_graph=True)
        g_loss.backward(inputs=g_params)
        self.opt_d.step()
        self.opt_g.step()
        pen_value = pen.detach() if pen is not None else torch.zeros((), device=self.device)
        self.sums.add_(torch.stack([d_loss.detach(), g_loss.detach(), pen_value]))

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
