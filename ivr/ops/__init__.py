"""Running Quietline in production: wiring the Twilio number (``connect``), the doctor (``doctor``), backups and
restores (``backup``, ``restore``, ``db_dump``), install and upgrade (``install``, ``upgrade``), their console
commands (``cli_*``), and the static files the installer ships in ``files/`` (systemd units, redis.conf settings,
the Caddyfile, the container image and compose file).

Production code: the CLI may import it; it never imports ``ivr.dev``. The installer runs on the system's Python
before any virtualenv exists, so ``install`` and ``upgrade`` use the standard library only.
"""
