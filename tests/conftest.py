import os

# One BLAS thread: the kernels run in one worker thread, and a multi-threaded
# BLAS on 2 cores next to pytest's own work only adds noise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
