"""Who runs a suite's runs: this process, one after another (`local`), or Ray tasks on this
machine or on a cluster (`ray`), each with its own resource request (docs/distributed.md).

On Ray, each (task, encoding, seed) run is one task. The driver (this process) does the per-task
work once and sends it with each run; a worker loads the task's program, trains, writes the run's
log to RUN_DIR/log.txt and returns the RunRecord. Results do not depend on the executor: a run's
record is a function of its settings and seed. A run whose worker dies is retried (`retries`
times) and resumes from its last checkpoint when the runs folder is shared; a run that raises, or
whose retries run out, is reported as failed and the other runs go on.

Ray is an optional dependency (`pip install 'lengthwise[ray]'`); it is imported only here, and
only when asked for.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from grammar.errors import RaspError, SettingError

if TYPE_CHECKING:  # the experiment (and JAX) is imported when a suite runs, not to name an executor
    from predictor.experiment import Execute, Outcome, SuiteRun


class Executor(StrEnum):
    LOCAL = "local"  # one run after another in this process
    RAY = "ray"  # Ray tasks, on a local Ray instance or a cluster


@dataclass(frozen=True)
class RaySettings:
    """Where and how runs go on Ray."""

    address: str | None = None  # an existing cluster ("HOST:PORT", "ray://HOST:PORT" or "auto"); None: start one here
    cpus_per_run: int | None = None  # CPU cores each run asks for, and then its XLA thread count; None: it
    # asks for 1 and its threads are not limited (numbers then equal the local executor's bit for bit)
    gpus_per_run: float | None = None  # GPUs each run asks for; None: 1 when the cluster has GPUs, else 0
    retries: int = 2  # times a run whose worker died is started again
    local_cpus: int | None = None  # the local instance's cores (None: all of this machine's)


SETTINGS = {"address": "Ray address", "cpus_per_run": "CPUs per run", "gpus_per_run": "GPUs per run"}
CONNECT_SECONDS = 5.0


def thread_env(cpus: int) -> dict[str, str]:
    """Environment for a worker that may use `cpus` cores: that many intra-op and OpenMP threads,
    and with one core, XLA's CPU backend without its multi-threaded Eigen kernels."""
    options = {"xla_cpu_multi_thread_eigen": "false"} if cpus == 1 else {}
    flags = [os.environ.get("XLA_FLAGS", ""), *(f"--{k}={v}" for k, v in options.items()),
             f"intra_op_parallelism_threads={cpus}"]
    return {"XLA_FLAGS": " ".join(flags).strip(), "OMP_NUM_THREADS": str(cpus)}


def import_ray(local: bool) -> Any:
    """Ray, or a clear error saying how to install it. A local instance binds to the loopback
    interface: Ray reads that choice when it is first imported."""
    if local:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # node address 127.0.0.1, not the LAN's
    try:
        import ray
    except ImportError:
        raise RaspError("Ray is not installed: pip install 'lengthwise[ray]' (or choose the local executor)") from None
    return ray


def probe(address: str) -> None:
    """A clear error, within seconds, when nothing listens at a cluster's address."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SettingError(f"'{address}' is not a Ray address: give {{address}} as HOST:PORT "
                           "(the head node's, e.g. 10.0.0.5:6379), ray://HOST:PORT or auto", SETTINGS)
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as e:
        raise SettingError(f"cannot reach a Ray cluster at {address} ({e.strerror or e}); start a head node there "
                           "(docs/distributed.md), or check the {address}", SETTINGS) from None


def node_fits(resources: dict[str, float], cpus: float, gpus: float) -> bool:
    return resources.get("CPU", 0) >= cpus and resources.get("GPU", 0) >= gpus


class RayExecutor:
    """Connects (or starts a local instance), checks that some node can take a run, then runs
    suites; `close` stops the instance it started."""

    def __init__(self, settings: RaySettings, progress: bool = True):
        if (settings.cpus_per_run or 1) < 1 or (settings.gpus_per_run or 0) < 0 or settings.retries < 0:
            raise SettingError("{cpus_per_run} must be at least 1 and {gpus_per_run} at least 0", SETTINGS)
        self.settings, self.progress, self.started = settings, progress, False
        self.ray = ray = import_ray(local=settings.address is None)
        if settings.address is not None:
            probe(settings.address)
        if not ray.is_initialized():
            import logging

            options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
            if settings.address is None:
                options.update(num_cpus=settings.local_cpus, include_dashboard=False, _node_ip_address="127.0.0.1")
            try:
                ray.init(address=settings.address, **options)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise SettingError(f"cannot connect to Ray at {settings.address}: {e}; check the {{address}}",
                                   SETTINGS) from None
            self.started = True
        try:
            self.check_resources()
        except RaspError:
            self.close()
            raise

    def check_resources(self) -> None:
        nodes = [n["Resources"] for n in self.ray.nodes() if n.get("Alive")]
        gpus = self.settings.gpus_per_run
        self.gpus = gpus if gpus is not None else (1.0 if any(n.get("GPU", 0) >= 1 for n in nodes) else 0.0)
        cpus = self.settings.cpus_per_run or 1
        if not any(node_fits(n, cpus, self.gpus) for n in nodes):
            largest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
            raise SettingError(f"no node of the Ray cluster can take a run of {cpus} CPUs and {self.gpus:g} GPUs "
                               f"(the largest has {largest.get('CPU', 0):g} CPUs and {largest.get('GPU', 0):g} "
                               "GPUs); lower the {cpus_per_run} or the {gpus_per_run}", SETTINGS)
        self.slots = sum(min(n.get("CPU", 0) // cpus, n.get("GPU", 0) // self.gpus if self.gpus else 10**9)
                         for n in nodes)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False

    def __call__(self, runs: Iterable[SuiteRun], total: int, say: Callable[[str], None]) -> list[Outcome]:
        from predictor.experiment import Outcome

        ray = self.ray
        cpus = self.settings.cpus_per_run
        remote = ray.remote(worker_run).options(
            num_cpus=cpus or 1, num_gpus=self.gpus, max_retries=self.settings.retries, retry_exceptions=False,
            runtime_env={"env_vars": thread_env(cpus)} if cpus else None)
        say(f"Ray: {total} runs, {cpus or 1} CPUs and {self.gpus:g} GPUs each, "
            f"{int(self.slots)} at a time")
        submitted: list[tuple[Any, Any]] = []
        outcomes: dict[int, Outcome] = {}
        with Display(total, self.slots, self.progress) as display:
            for run in runs:
                submitted.append((run, remote.remote(run)))
                self.collect(submitted, outcomes, display, timeout=0)
            while len(outcomes) < len(submitted):
                self.collect(submitted, outcomes, display, timeout=1.0)
        for outcome in outcomes.values():
            if outcome.record is None:
                say(f"failed: {outcome.run.task.name}, {outcome.run.pe}, seed {outcome.run.config.seed}: {outcome.error}")
        return [outcomes[i] for i in range(len(submitted))]

    def collect(self, submitted: list[tuple[SuiteRun, Any]], outcomes: dict[int, Outcome], display: "Display",
                timeout: float) -> None:
        """Gather the runs that have ended (waiting up to `timeout` seconds for one)."""
        waiting = {ref: i for i, (_, ref) in enumerate(submitted) if i not in outcomes}
        if not waiting:
            return
        from predictor.experiment import Outcome

        ready, _ = self.ray.wait(list(waiting), num_returns=len(waiting), timeout=timeout)
        for ref in ready:
            run = submitted[waiting[ref]][0]
            try:
                outcomes[waiting[ref]] = Outcome(run, self.ray.get(ref))
            except Exception as e:  # the run raised, or its worker died more often than it may
                outcomes[waiting[ref]] = Outcome(run, None, one_line(e))
        display.update(len(submitted), sum(o.record is not None for o in outcomes.values()),
                       sum(o.record is None for o in outcomes.values()))


class RunFailed(Exception):
    """A run's own error, as one line that any Python can unpickle (Ray sends it to the driver)."""


def one_line(error: BaseException) -> str:
    """What went wrong, in one line: the run's own error where Ray wraps one."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        error = cause
    if isinstance(error, RunFailed):
        return str(error)
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def worker_run(run: SuiteRun) -> Any:
    """On a worker: one run, its output appended to RUN_DIR/log.txt."""
    from predictor.experiment import do_run, run_directory

    program = run.task.load()
    run_dir = run_directory(run, program)
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "log.txt").open("a", encoding="utf-8") as log, redirect_stdout(log), redirect_stderr(log):
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} start on {socket.gethostname()}, process {os.getpid()}", flush=True)
        try:
            record = do_run(run, program, progress=True)
        except Exception as e:  # sent as text: our error types do not all unpickle
            print(f"failed: {one_line(e)}", flush=True)
            raise RunFailed(one_line(e)) from None
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} done: {record['steps']} steps, train EM {record['train_em']:.3f}, "
              f"held-out EM {record['heldout_em']:.3f}", flush=True)
    return record


class Display:
    """Runs done / running / queued / failed and the time left, on standard error."""

    def __init__(self, total: int, slots: float, enabled: bool):
        self.total, self.slots, self.enabled = total, slots, enabled and sys.stderr.isatty()
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("runs"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[state]}"),
                                TimeRemainingColumn(), console=Console(stderr=True))
            self.task = self.bar.add_task("runs", total=total, state="")

    def __enter__(self) -> "Display":
        if self.enabled:
            self.bar.start()
        return self

    def update(self, submitted: int, done: int, failed: int) -> None:
        if self.enabled:
            left = submitted - done - failed
            running = int(min(left, self.slots))
            self.bar.update(self.task, completed=done + failed,
                            state=f"running {running}, queued {self.total - done - failed - running}, failed {failed}")

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.bar.stop()


@contextmanager
def executor(kind: Executor, ray: RaySettings | None = None, progress: bool = True) -> Iterator[Execute | None]:
    """The executor of that kind, ready before any run starts (None: the local one); a Ray
    instance it started is stopped on the way out."""
    if kind is Executor.LOCAL:
        yield None
        return
    chosen = RayExecutor(ray or RaySettings(), progress)
    try:
        yield chosen
    finally:
        chosen.close()
