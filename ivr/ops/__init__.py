"""Running Quietline in production: wiring the Twilio number, the doctor, backups, installs and upgrades.

Production code (the ``flask`` commands in ``ivr.cli`` register its groups); it never imports ``ivr.dev``.
"""
