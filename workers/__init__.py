"""RQ job functions (module-level, arguments are IDs only) and the worker entry point."""
