"""The practice: its settings file, its data (clients, clinicians, appointments) and how it is imported, verified
and scheduled.
"""
