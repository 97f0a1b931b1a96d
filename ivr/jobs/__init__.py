"""RQ jobs: enqueueing the slow work of calls and escalations (``enqueue.Jobs``), ids only, never PHI.

The job functions themselves live in the top-level ``workers`` package."""
