"""Keep a CUDA run's backward order independent of what ran before it in the process.

The hazard (seen on an H100: a gradient-penalty run that followed another run in the same process
ended 0.2 away, in weights, from the same run in a fresh process, after 60 steps):

- Autograd numbers each node it creates (`Node._sequence_nr()`) from a counter that is
  local to the creating thread, and runs the ready nodes of a backward pass highest
  number first.
- On CUDA, a backward pass runs on autograd's worker thread for the device. The gradient
  penalty's `autograd.grad(..., create_graph=True)` therefore creates its double-backward
  nodes on that worker thread, numbered from the worker's counter; the forward pass's
  nodes are numbered from the training thread's counter.
- The critic's `backward()` then holds nodes of both counters, and which of two ready
  nodes runs first compares numbers from two different counters. That depends on how
  many nodes each thread created earlier in the process: in a fresh process both counters
  start near 0 and the two ranges overlap; after another run, the training thread's
  counter is far ahead.
- A different order sums the same gradients in a different order, the sums round
  differently, and a gradient penalty amplifies the difference.

On a CPU, every node is created and run on the training thread, so the order never
depends on history (CPU runs are bit-identical in any order; tested). A test reproduces
the hazard on a CPU by running the penalty's `autograd.grad` on a separate long-lived
thread, as CUDA does, and shows the same 0.2 drift without the guard and none with it.

The guard makes every cross-counter comparison come out the same way: before each eager
step it moves the training thread's counter ahead of the worker's by `MARGIN`, so every
node the worker creates in the step is numbered below every node the training thread
creates in it. That is the order a long-lived process is in anyway (its training thread
has created far more nodes). After the step it checks that the worker created fewer
than `MARGIN` nodes; if not, the order was not pinned and the run stops with an error
rather than produce numbers that depend on history.
"""

from __future__ import annotations

import contextlib

import torch

# Nodes the worker may create in one step. A gradient-penalty step with the image nets' conv critic
# creates a few hundred; burning this many on the training thread takes ~0.1 s and is
# needed only when the worker's counter is ahead (a fresh process, at the first step).
MARGIN = 1 << 14


class OrderError(RuntimeError):
    pass


def supported() -> bool:
    """Whether this torch exposes node numbers (`Node._sequence_nr`, not a public API).
    Without them there is no guard; suites still give each CUDA run a fresh process."""
    node = getattr(getattr(torch.autograd, "graph", None), "Node", None)
    return node is not None and hasattr(node, "_sequence_nr")


def training_thread_seq() -> int:
    """The calling thread's next node number (creating one node on the CPU)."""
    with torch.enable_grad():
        x = torch.zeros((), requires_grad=True)
        return (x * 1.0).grad_fn._sequence_nr()


def worker_seq(device: torch.device) -> int:
    """The number of a node just created by autograd's worker thread for `device`.

    A tiny double backward on the device: its backward pass runs on the worker, which
    creates (create_graph=True) the node whose number this returns. No host sync.
    """
    with torch.enable_grad():
        x = torch.zeros((), device=device, requires_grad=True)
        (grad,) = torch.autograd.grad(x * x, x, create_graph=True)
        return grad.grad_fn._sequence_nr()


def _burn(n: int) -> None:
    """Advance the calling thread's counter by `n` (one tiny CPU node each)."""
    with torch.enable_grad():
        x = torch.zeros((), requires_grad=True)
        for _ in range(n):
            x * 1.0


class OrderGuard:
    """Pins the order of a step's backward passes; see the module's notes.

    Use `with guard.step():` around every step that is executed eagerly or captured (a
    replay creates no nodes and needs none). `device` is where the worker runs: the
    training device.
    """

    def __init__(self, device: torch.device, margin: int = MARGIN):
        self.device, self.margin = torch.device(device), margin
        self.burned = 0  # nodes burned so far (tests read it)

    @contextlib.contextmanager
    def step(self):
        worker_before = worker_seq(self.device)
        need = worker_before + self.margin - training_thread_seq()
        if need > 0:
            _burn(need)
            self.burned += need
        first_training_node = training_thread_seq() + 1  # every node of the step is above this
        yield  # the step; an exception in it propagates, unchecked
        worker_after = worker_seq(self.device)
        if worker_after >= first_training_node:
            raise OrderError(
                f"a training step created {worker_after - worker_before} autograd nodes on the device's "
                f"worker thread, more than the ordering guard's margin ({self.margin}); raise "
                "ganbench.core.cuda.order.MARGIN"
            )
