"""Production operations: install and upgrade (``ivr.ops.install``, ``ivr.ops.upgrade``), and the static files they
ship in ``files/`` (systemd units, redis.conf settings, the Caddyfile, the container image and compose file).

Production code: the CLI may import it; it never imports ``ivr.dev``. The installer runs on the system's Python
before any virtualenv exists, so ``install`` and ``upgrade`` use the standard library only.
"""
