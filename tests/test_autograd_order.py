"""The backward-order guard (ganbench/autograd_order.py), tested on a CPU.

On CUDA, autograd runs backward passes on a long-lived worker thread, so the nodes of the
gradient penalty's double backward are numbered from that thread's counter and the
forward pass's from the training thread's. Here the same situation is built on a CPU:
every `torch.autograd.grad` call runs on a long-lived helper thread (`WorkerThread`), and
a "fresh process" is a fresh training thread plus a fresh helper, both counters at 0.
"""

from __future__ import annotations

import queue
import threading

import pytest
import torch
from support import tiny_config

from ganbench.core import step as trainer
from ganbench.core.cuda import order as autograd_order
from ganbench.core.cuda.graph import GraphedStep
from ganbench.core.loop import train
from ganbench.rundir import RunDir
from ganbench.seeding import Generators
from ganbench.variants import get_variant

REAL_GRAD = torch.autograd.grad


class WorkerThread:
    """Runs every call it is given on one long-lived thread, as autograd's CUDA worker does."""

    def __init__(self):
        self.tasks: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while (task := self.tasks.get()) is not None:
            fn, reply = task
            try:
                reply.put((True, fn()))
            except BaseException as exc:  # hand it back to the caller
                reply.put((False, exc))

    def call(self, fn):
        reply: queue.Queue = queue.Queue()
        self.tasks.put((fn, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value

    def grad(self, *args, **kwargs):
        return self.call(lambda: REAL_GRAD(*args, **kwargs))

    def close(self):
        self.tasks.put(None)
        self.thread.join()


def burn_worker(worker: WorkerThread, n: int) -> None:
    """n nodes created on the worker thread."""
    worker.call(lambda: autograd_order._burn(n))


def in_fresh_thread(fn):
    """fn() on a new thread, whose node counter starts at 0; its exception is re-raised."""
    errors: list[BaseException] = []

    def body():
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def run_as_fresh_process(tmp_path, name: str, history: str, monkeypatch) -> dict:
    """Train WGAN-GP on ring8 in a new thread with a new worker (both counters at 0), after
    `history`: none, many nodes already created by the training thread (as after another
    run in the same process), or by the worker."""
    worker = WorkerThread()
    monkeypatch.setattr(torch.autograd, "grad", worker.grad)
    cfg = tiny_config("wgan-gp", "ring8", steps=60, log_every=20)
    run = RunDir(tmp_path / name, "ring8", "wgan-gp", 0)

    def body():
        if history == "training thread":
            autograd_order._burn(50_000)
        elif history == "worker":
            burn_worker(worker, 20_000)
        train(cfg, get_variant("wgan-gp"), run, progress=False)

    try:
        in_fresh_thread(body)
    finally:
        worker.close()
        monkeypatch.setattr(torch.autograd, "grad", REAL_GRAD)
    return torch.load(run.path / "generator.pt")


def max_diff(a: dict, b: dict) -> float:
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def test_without_the_guard_history_changes_the_run_and_with_it_nothing_does(tmp_path, monkeypatch):
    # Without the guard (the CPU default), the emulated CUDA worker makes the run depend on
    # what ran before it: this is the drift seen on the H100 (0.198 there, after 60 steps).
    monkeypatch.setattr(trainer, "order_guard_needed", lambda device, double_backward: False)
    fresh = run_as_fresh_process(tmp_path, "u-fresh", "none", monkeypatch)
    after = run_as_fresh_process(tmp_path, "u-after", "training thread", monkeypatch)
    assert max_diff(fresh, after) > 1e-2

    monkeypatch.setattr(trainer, "order_guard_needed", lambda device, double_backward: double_backward)
    guarded = {
        h: run_as_fresh_process(tmp_path, f"g-{h}", h, monkeypatch) for h in ("none", "training thread", "worker")
    }
    for h in ("training thread", "worker"):
        assert max_diff(guarded["none"], guarded[h]) == 0.0, h
    # The pinned order is the one a long-lived process reaches by itself.
    assert max_diff(guarded["none"], after) == 0.0


def test_the_guard_is_only_used_where_a_double_backward_runs_on_a_cuda_worker():
    assert trainer.order_guard_needed(torch.device("cuda"), True)
    assert not trainer.order_guard_needed(torch.device("cuda"), False)
    assert not trainer.order_guard_needed(torch.device("cpu"), True)
    assert autograd_order.supported()  # this torch numbers its nodes, so CUDA runs are guarded


def test_a_step_that_creates_more_worker_nodes_than_the_margin_is_an_error(monkeypatch):
    worker = WorkerThread()
    monkeypatch.setattr(torch.autograd, "grad", worker.grad)
    guard = autograd_order.OrderGuard(torch.device("cpu"), margin=50)

    def steps():
        burn_worker(worker, 1000)  # the worker's counter is ahead, as after an earlier run
        with guard.step():
            burn_worker(worker, 10)  # within the margin
        # The training thread was moved ahead of the worker, and stays ahead.
        assert guard.burned > 0
        with torch.no_grad():  # the probes work in any grad mode
            assert autograd_order.training_thread_seq() > autograd_order.worker_seq(torch.device("cpu"))
        with guard.step():
            burn_worker(worker, 10)
        with pytest.raises(autograd_order.OrderError, match="raise ganbench.core.cuda.order.MARGIN"):
            with guard.step():
                burn_worker(worker, 200)

    try:
        in_fresh_thread(steps)
    finally:
        worker.close()


def test_the_graphed_step_guards_warm_up_steps_and_the_capture_but_not_replays():
    events = []

    class Around:
        def __enter__(self):
            events.append("enter")

        def __exit__(self, *exc):
            events.append("exit")
            return False

    def capture(step_fn, generator, stream):
        events.append("capture")
        return lambda: events.append("replay")

    holder = Generators.create(0, 0, torch.device("cpu"))
    graphed = GraphedStep(
        lambda: events.append("step"), holder, torch.device("cpu"), warmup=2, capture=capture, around_step=Around
    )
    graphed.run(4)
    assert events == ["enter", "step", "exit"] * 2 + ["enter", "capture", "exit", "replay", "replay"]
