"""The process tree of one ``bin/run``, read from /proc: shared by the journey test
(tests/test_embedded_run.py) and the start-up bench (bench/startup.py), which both start the
README's run command and must find every process it started ended after Ctrl-C.
"""

from __future__ import annotations

import os
from pathlib import Path

# What bin/run must not inherit from a test or developer setup: it starts its own PostgreSQL,
# broker, moto and osmem, with its own secret key and debug off.
NOT_FOR_BIN_RUN = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "AWS_ENDPOINT_URL", "OPENSEARCH_URL",
                   "SECRET_KEY", "DEBUG", "SITE_URL", "CACHE_URL", "PORTAL_EMBEDDED", "CATALOG_EVENTS_QUEUE_URL")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren, …)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def cpu_seconds(pids: set[int], root: int) -> float:
    """CPU (user + system) used so far by ``root``, the live ``pids`` and the children they waited
    for: a figure the machine's other load does not inflate, unlike wall-clock time."""
    ticks = 0
    for pid in {root, *pids}:
        fields = _stat(pid)
        if fields is not None:
            ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")
