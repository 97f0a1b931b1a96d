"""Quietline: a discreet virtual receptionist for therapy practices.

The app factory is ``ivr.app.create_app``; the package map is docs/architecture.md.
This module imports nothing, so ``import ivr.core.engine`` loads the core alone.
"""
