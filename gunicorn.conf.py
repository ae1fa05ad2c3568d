"""gunicorn configuration of the portal: the same file for ``bin/run`` and for production.

    gunicorn -c gunicorn.conf.py            # serves portal.wsgi:application

Threads, not more processes: most requests wait on PostgreSQL, OpenSearch or AWS, and every
process keeps its own lineage graph in memory, so a few processes with several threads each
serve more for the memory. Every value can be overridden from the environment (below) or on
the command line (``--bind``, ``--workers`` …), which wins over this file.
"""

from __future__ import annotations

import os
from pathlib import Path

_base_dir = Path(__file__).resolve().parent
_data_dir = Path(os.environ.get("PORTAL_DATA_DIR") or _base_dir / "var")
_log_dir = _data_dir / "logs"
_log_dir.mkdir(parents=True, exist_ok=True)

wsgi_app = "portal.wsgi:application"
chdir = str(_base_dir)
# Production binds all interfaces behind its load balancer (WEB_BIND=0.0.0.0:8000); the
# default answers on loopback only, as bin/run does.
bind = os.environ.get("WEB_BIND") or f"127.0.0.1:{os.environ.get('PORT') or 8000}"
worker_class = "gthread"
# Import the portal once in the master and fork the workers from it: they boot at once and share
# the imported code's memory (nothing opens a connection at import time).
preload_app = True
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A request that takes longer than this is a bug or a stuck backend: the worker is recycled.
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "60"))
# On SIGTERM, requests in flight get this long to finish (Ctrl-C of bin/run, rolling deploys).
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT_SECONDS", "10"))
keepalive = 5
# Recycle workers now and then so slow leaks (a library's cache) never grow without bound.
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("WEB_ACCESS_LOG") or str(_log_dir / "access.log")
errorlog = "-"  # stderr: var/logs/web.log under bin/run, the service's journal in production
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "datahub-portal"
# The runtime control socket (gunicorn 24+) lives at one path per user: two portals on one machine
# would fight over it, and nothing here manages gunicorn at run time.
control_socket_disable = True
