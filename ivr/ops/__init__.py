"""Running Quietline in production: backups and restores (``backup``, ``restore``, ``db_dump``), and the
console commands for them (``cli_backup``). Never imports ``ivr.dev``."""
