"""gunicorn settings (`gunicorn -c gunicorn.conf.py wsgi:app`), each one overridable by env."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Sync workers: requests are short and CPU-bound (templates, matching); 2 per core
# plus one keeps the cores busy while one worker waits on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Building a schedule or a PDF can take a while; everything else answers in milliseconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never take a host down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
limit_request_line = 8190
# GUNICORN_ACCESSLOG=off (or /dev/null): no access log at all. gunicorn would still format
# every request's line (a few percent of a short request's CPU) to write it to /dev/null.
_accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
accesslog = None if _accesslog in ("off", os.devnull) else _accesslog
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
