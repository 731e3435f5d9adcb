"""A command run and measured in a process of its own: wall time, CPU time, peak memory, blocks read from disk."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import NamedTuple

# Runs the command given as its arguments in a process it forks, and writes to the file descriptor given first
# that process's wall time, CPU time, peak memory (KB) and blocks read from disk. The measured process is forked from
# this small one: Linux carries a process's peak memory over its exec, and a child forked by the benchmark itself
# would report at least the benchmark's own resident memory.
LAUNCHER = """
import os, sys, time
report = int(sys.argv[1])
os.set_inheritable(report, False)
began = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_pid, status, usage = os.wait4(pid, 0)
took = time.perf_counter() - began
os.write(report, f"{took} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} {usage.ru_inblock}".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


class Measured(NamedTuple):
    seconds: float
    cpu_s: float
    peak_mb: float
    read_mb: float  # read from disk, not from the page cache (wait4's ru_inblock)
    run: subprocess.CompletedProcess


def command_environment() -> dict[str, str]:
    """This process's environment without photocap's settings (a command runs with its defaults) and without
    PYTHONDONTWRITEBYTECODE, which some shells set: a user's photocap runs from compiled bytecode, and compiling
    its modules from source at every start costs a search about 50 ms."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("PHOTOCAP_") and key != "PYTHONDONTWRITEBYTECODE"}


def launched(command: list[str]) -> Measured:
    """`command` run in a process of its own (forked by LAUNCHER), measured."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as report:
        try:
            run = subprocess.run([sys.executable, "-c", LAUNCHER, str(write_end), *command], capture_output=True,
                                 text=True, pass_fds=(write_end,), env=command_environment())
        finally:
            os.close(write_end)
        took, cpu, peak_kb, blocks = (float(value) for value in report.read().split())
    return Measured(took, cpu, peak_kb / 1024, blocks * 512 / 1e6, run)


def photocap_measured(arguments: list[str]) -> Measured:
    return launched([sys.executable, "-m", "photocap.cli", *arguments])
