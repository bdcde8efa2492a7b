"""Worker processes for corpus building and scoring.

Workers are spawned, not forked: a forked child inherits every lock that some thread of the parent
held at that moment (ONNX Runtime, torch and BLAS thread pools, FluidSynth's glib), and a child
that then loads a soundfont waits forever. A spawned worker starts clean; the price is importing
the harness once per worker (about a second), paid once per pool.

No worker outlives its parent: on Linux each worker asks the kernel for SIGKILL when its parent
dies (prctl PR_SET_PDEATHSIG), which also covers a parent killed by SIGKILL, where no Python code
of the parent runs. Elsewhere, a watchdog thread in the worker exits when the parent's pid changes.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import heapq
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from harness.allocator import keep_freed_memory

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _exit_without_teardown() -> None:
    """A worker's last act: flush its output and leave. A spawned worker exits through sys.exit, and the
    interpreter's teardown of numba, llvmlite and scipy took 0.4-0.8 s per worker, every pool's
    shutdown waiting on it, after the work was done. A worker holds nothing to clean up: each job's
    files are written whole (atomically) before its result is returned."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)  # a worker only reaches interpreter exit after a normal return (exit status 0)


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: be killed when the parent dies, however it dies; exit without teardown; keep
    freed memory for the next job (harness/allocator.py)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the pool
    keep_freed_memory()
    atexit.register(_exit_without_teardown)  # registered first, so it runs last of the exit handlers
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def _silence_cancelled_future_race() -> None:
    """Python 3.11's executor manager thread can raise InvalidStateError ("CANCELLED: <Future…>") when
    workers stop while futures are being cancelled; it is harmless, but its traceback would break the
    one-line promise on SIGTERM and Ctrl-C. Every other thread exception still prints."""
    from concurrent.futures import InvalidStateError

    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if isinstance(args.exc_value, InvalidStateError) and "CANCELLED" in str(args.exc_value):
            return
        previous(args)

    threading.excepthook = hook


@contextlib.contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Spawn workers with SIGINT blocked, and hold a Ctrl-C until they are launched.

    A terminal sends Ctrl-C to the whole process group. A worker still starting printed its own
    traceback ("init_import_site", or EOFError when the parent was interrupted before handing it
    its work). So workers are born with SIGINT blocked (a blocked mask survives exec; the parent
    stops them), and a Ctrl-C during the launch is recorded rather than raised half-way (numpy's
    native threads can take the signal even while this thread blocks it), then raised here after.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    interrupted: list[int] = []
    previous_handler = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)  # a pending Ctrl-C lands in the recorder
        signal.signal(signal.SIGINT, previous_handler)
    if interrupted:
        raise KeyboardInterrupt


class Pool:
    """The executor, with work submitted (and so workers spawned) while SIGINT is ignored."""

    def __init__(self, executor: ProcessPoolExecutor):
        self.executor = executor

    def map(self, fn, *iterables, **kwargs):
        with _children_ignore_sigint():  # Executor.map submits every job, spawning the workers, before it returns
            return self.executor.map(fn, *iterables, **kwargs)

    def submit(self, fn, /, *args, **kwargs):
        with _children_ignore_sigint():
            return self.executor.submit(fn, *args, **kwargs)

    def next_done(self, pending) -> list[Future]:
        """The submitted futures that have finished, waiting for at least one."""
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        return list(done)


class SerialPool:
    """`Pool`'s submit/next_done in this process: each job runs, in submission order, when its result
    is asked for. A one-worker run then schedules exactly like a parallel one, without a worker to
    start, and each result is handled (stored) before the next job begins."""

    def __init__(self) -> None:
        self._queue: deque[tuple[Future, object, tuple, dict]] = deque()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self._queue.append((future, fn, args, kwargs))
        return future

    def next_done(self, pending) -> list[Future]:
        future, fn, args, kwargs = self._queue.popleft()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future, like a worker's; Ctrl-C stops the run
            future.set_exception(exc)
        return [future]


class SimulatedPool:
    """How long a run would take on `workers` workers, from one process: each job runs here when it is
    submitted (as SerialPool runs them) and is timed, then laid out on simulated workers as a
    ProcessPoolExecutor's queue would: it starts at the later of its submission (the simulated time at
    which the parent handled the result that released it) and the first free worker, and ends its
    measured duration later. `makespan` is the simulated wall time, worker start-up and the parent's
    own handling excluded; it knows the run's real dependencies (fits before their examples), which a
    fit of Amdahl's law from 1 and 2 workers cannot see. Jobs are timed one at a time on one core, so
    contention between cores for memory is not in it."""

    def __init__(self, workers: int, clock=time.perf_counter) -> None:
        self._free = [0.0] * workers  # when each simulated worker is next free
        self._clock = clock
        self._now = 0.0  # the parent's simulated time
        self._ends: dict[Future, float] = {}
        self.work = 0.0  # the jobs' measured seconds, summed: the rest of the caller's wall time is its own

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        begin = self._clock()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future, like a worker's
            future.set_exception(exc)
        duration = self._clock() - begin
        self.work += duration
        start = max(self._now, heapq.heappop(self._free))
        self._ends[future] = start + duration
        heapq.heappush(self._free, start + duration)
        return future

    def next_done(self, pending) -> list[Future]:
        future = min(pending, key=self._ends.__getitem__)
        self._now = max(self._now, self._ends[future])
        return [future]

    @property
    def makespan(self) -> float:
        return max(self._ends.values(), default=0.0)


def chunk_sizes(jobs: int, workers: int, *, per_worker: int = 4, largest: int = 8) -> list[int]:
    """How `jobs` are cut into submissions, in order: guided self-scheduling (Polychronopoulos & Kuck,
    1987). Each chunk is the jobs left divided by `per_worker` x `workers`, so chunks shrink as the
    work runs out and the last ones are single jobs: workers finish together instead of one of them
    finishing a whole chunk alone (on the demo suite that wait was 2 s of a 60 s run). At most
    `largest`, so an interrupted run loses little and progress stays lively. One worker takes one
    job at a time (there is nothing to send)."""
    sizes = []
    left = jobs
    while left > 0:
        size = 1 if workers <= 1 else max(1, min(largest, -(-left // (workers * per_worker))))
        sizes.append(size)
        left -= size
    return sizes


def chunks(items: list, workers: int) -> list[list]:
    """`items` cut as `chunk_sizes` says, in order."""
    out, start = [], 0
    for size in chunk_sizes(len(items), workers):
        out.append(items[start:start + size])
        start += size
    return out


# Each worker is one process on one core: a BLAS or OpenMP pool of its own per worker only oversubscribes
# the cores (a threaded dot product in the spectrum once cost milliseconds per call under load). The
# libraries read these when they load, so they are set in the environment the workers are spawned with.
ONE_THREAD_PER_WORKER = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                "NUMBA_NUM_THREADS")}


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """Spawn with ONE_THREAD_PER_WORKER (an explicit setting in the environment wins); restored after."""
    added = {k: v for k, v in ONE_THREAD_PER_WORKER.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@contextlib.contextmanager
def process_pool(workers: int) -> Iterator[Pool]:
    """A spawned pool whose workers die with the parent. Leaving the block by an exception (Ctrl-C,
    SIGTERM, an error) cancels the queued work and stops the workers at once instead of finishing it."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_die_with_parent, initargs=(os.getpid(),))
    with _worker_environment():  # workers are spawned on the first submissions, inside the block
        try:
            yield Pool(pool)
        except BaseException:
            _silence_cancelled_future_race()
            # the executor has no public handle on its processes; getattr keeps this safe if that changes
            workers_now = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in workers_now:
                process.terminate()
            raise
        pool.shutdown(wait=True)
