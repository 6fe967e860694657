"""What only a CUDA run needs, each piece opt-in and with a CPU-testable seam.

graph.py  the whole training step captured once as a CUDA graph and replayed
order.py  pins autograd's backward order so a double-backward run on CUDA does not
          depend on what ran before it in the process
"""
