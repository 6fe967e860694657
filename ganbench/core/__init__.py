"""One run: the five-minute read.

    step.py        Trainer: the nets, the optimisers, one training step, the losses read back
    loop.py        the log / eval / checkpoint schedule of one run, writing its run directory
    record.py      config.json's record; is a directory done, unfinished, or another run?
    checkpoint.py  atomic checkpoints, loaded without running any code they carry
    samples.py     Sampler (what evaluators score: G and its noise) and samples.png
    cuda/          CUDA only, opt-in: the step as one CUDA graph, the backward-order guard

The core reads a Variant and a resolved RunConfig as data. It imports no registry (it is
handed the Variant), nothing from runs/, report/, cli/ or stability/, and never names a
variant (tests/test_layout.py keeps it so).
"""
