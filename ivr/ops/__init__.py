"""Running Quietline in production: wiring the Twilio number (``connect``), the doctor (``doctor``), backups and
restores (``backup``, ``restore``, ``db_dump``), installs and upgrades, and their console commands (``cli_*``).

Production code (the ``flask`` commands in ``ivr.cli`` register its groups); it never imports ``ivr.dev``.
"""
