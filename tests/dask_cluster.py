"""A real Dask scheduler and two workers on 127.0.0.1 for tests, and the process helpers they need."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DASK = Path(sys.executable).parent / "dask"


def start(args, env, log, cwd=None):
    # A session of its own: killpg at teardown takes the process and anything it started.
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@contextlib.contextmanager
def local_cluster(folder: Path, env, idle_timeout: str = "120s", cwd=None):
    """(address, {worker name: Popen}) of a scheduler and two single-thread workers without nannies (a killed
    worker stays dead). --idle-timeout / --death-timeout: should the test process be SIGKILLed before its
    teardown, the scheduler exits once idle and the workers once the scheduler is gone."""
    from dask.distributed import Client

    procs, log = [], open(folder / "cluster.log", "w")
    try:
        scheduler_file = folder / "scheduler.json"
        procs.append(start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                            "--scheduler-file", str(scheduler_file), "--idle-timeout", idle_timeout], env, log, cwd))
        address = wait_for(lambda: scheduler_file.is_file() and json.loads(scheduler_file.read_text() or "{}")
                           .get("address"), 30, "the scheduler")
        workers = {}
        for name in ("w1", "w2"):
            workers[name] = start([str(DASK), "worker", address, "--name", name, "--nthreads", "1", "--nworkers", "1",
                                   "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--death-timeout", "30s",
                                   "--local-directory", str(folder / name)], env, log, cwd)
            procs.append(workers[name])
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for proc in reversed(procs):
            kill(proc)
        log.close()
