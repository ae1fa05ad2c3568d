"""Benchmark of the embedded portal's start and stop (issue 13): prints each figure.

    python bench/startup.py                 # the full demo lake (12 databases), as bin/run does
    python bench/startup.py --databases 3   # smaller lake, quicker
    python bench/startup.py --cold-venv     # also build .venv from scratch (see below)

Runs the README's command, ``bin/run``, with a fresh ``PORTAL_DATA_DIR`` and ``PORT=0``:

1. cold   first start on an empty data folder (initdb, every migration, demo lake, first sync and
          index) until the home page answers 200
2. stop   Ctrl-C (SIGINT to the run's process group) until every process it started has ended
3. warm   second start on the same data folder until the home page answers 200
          (target: under 20 s with the full demo lake on a 2-core machine)
4. stop   again

``--cold-venv`` first copies the checkout (tracked files and node_modules) to a temporary folder
without ``.venv``, so ``bin/run`` creates the virtualenv there from the pip cache. pip still asks
the configured package index what to take from its cache, so that phase reaches beyond loopback:
it is opt-in and off by default. Every other request of the bench goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.testing.processes import NOT_FOR_BIN_RUN, alive, cpu_seconds, descendants  # noqa: E402


class Run:
    def __init__(self, checkout: Path, data_dir: Path, databases: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_BIN_RUN}
        env.update(PORTAL_DATA_DIR=str(data_dir), PORT="0", PYTHONUNBUFFERED="1")
        self.started = time.monotonic()
        self.process = subprocess.Popen(["bin/run", "--demo-databases", str(databases)], cwd=checkout, env=env,
                                        text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.url = ""
        self.lines: list[str] = []
        self.pids: set[int] = set()
        self.cpu = 0.0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            found = re.search(r"running at (http://127\.0\.0\.1:\d+/)", line)
            if found and not self.url:
                self.url = found.group(1)

    def first_page(self, timeout: float) -> float:
        """Seconds from start until the home page answers 200."""
        deadline = self.started + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            self.pids |= descendants(self.process.pid)
            if self.url:
                try:
                    with urllib.request.urlopen(self.url, timeout=5) as response:
                        if response.status == 200:
                            self.pids |= descendants(self.process.pid)
                            self.cpu = cpu_seconds(self.pids, self.process.pid)
                            return time.monotonic() - self.started
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.1)
        raise SystemExit("bin/run did not serve its home page:\n" + "".join(self.lines[-40:]))

    def ctrl_c(self) -> float:
        """Seconds from Ctrl-C until the run and every process it started have ended."""
        self.pids |= descendants(self.process.pid)
        stopped_at = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            live = {pid: _command(pid) for pid in self.pids | descendants(self.process.pid) if alive(pid)}
            os.killpg(self.process.pid, signal.SIGKILL)
            raise SystemExit(f"bin/run still running 120 s after Ctrl-C; live processes {live}; its last output:\n"
                             + "".join(self.lines[-40:])) from None
        while any(alive(pid) for pid in self.pids) and time.monotonic() - stopped_at < 60:
            time.sleep(0.05)
        left = [pid for pid in self.pids if alive(pid)]
        if left:
            raise SystemExit(f"processes left after Ctrl-C: {left}")
        return time.monotonic() - stopped_at


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


def cold_checkout(into: Path) -> Path:
    """A copy of the checkout without .venv (tracked files, node_modules and static/vendor as they are)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source, target = ROOT / name.decode(), into / name.decode()
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    # Copied, not linked: bin/build-static may run npm ci, which must not touch the original.
    shutil.copytree(ROOT / "node_modules", into / "node_modules", symlinks=True)
    # The copy's lockfile is no newer than its node_modules: nothing to fetch.
    os.utime(into / "package-lock.json", (0, 0))
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", type=int, default=12, help="demo lake databases (bin/run's default: 12)")
    parser.add_argument("--cold-venv", action="store_true", help="also build .venv from scratch (contacts the index)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        checkout = cold_checkout(Path(tmp) / "checkout") if args.cold_venv else ROOT
        data_dir = Path(tmp) / "var"
        what = "fresh .venv and data folder" if args.cold_venv else "fresh data folder, existing .venv"
        print(f"bin/run with the demo lake of {args.databases} databases; data in {data_dir}", flush=True)

        run = Run(checkout, data_dir, args.databases)
        cold = run.first_page(timeout=3600 if args.cold_venv else 900)
        print(f"cold first bin/run to first page: {cold:.1f} s ({what}; {run.cpu:.0f} CPU s)", flush=True)
        stop = run.ctrl_c()
        print(f"Ctrl-C to all stopped: {stop:.1f} s ({len(run.pids)} processes)", flush=True)

        run = Run(checkout, data_dir, args.databases)
        warm = run.first_page(timeout=600)
        verdict = "met" if warm < 20 else "MISSED"
        print(f"warm start to first page: {warm:.1f} s (target < 20 s: {verdict}; {run.cpu:.0f} CPU s)", flush=True)
        print(f"machine load while measuring: {os.getloadavg()[0]:.1f} (1-minute average, {os.cpu_count()} cores)",
              flush=True)
        stop = run.ctrl_c()
        print(f"Ctrl-C to all stopped: {stop:.1f} s ({len(run.pids)} processes)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
