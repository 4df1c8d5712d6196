"""Child processes of the tests (servers, workers, brokers): killed or stopped, then waited for."""

from __future__ import annotations

import signal
import subprocess


def kill(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL a running process and wait until it is gone."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait()


def stop(
    process: subprocess.Popen[bytes] | None, *, sig: int = signal.SIGTERM, timeout: float = 30
) -> None:
    """Ask a running process to stop with `sig`; SIGKILL it if it has not within `timeout`."""
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill(process)
