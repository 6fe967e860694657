"""Many runs. Imports core/, and is never imported by it.

plan.py        variants x datasets x seeds -> resolved configs; the one registry lookup
one.py         one run of a suite: skip, resume, refuse or train it (the one decision)
schedule.py    the one scheduler: sequential, --streams K and --jobs N are its layouts
interleave.py  several runs advanced in turn in one process, each on its CUDA stream
jobs.py        a job process: trains the runs the scheduler sends it
rescore.py     `ganbench eval`: score a finished run directory's generator again
score.py       `ganbench score`: a generator or samples made elsewhere, scored as a run directory
score_inputs.py  what `ganbench score` reads (sample files, folders, generators), checked first
"""
