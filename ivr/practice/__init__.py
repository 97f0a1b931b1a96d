"""Practice settings: identity, opening hours, holidays, closures, staff."""
from .settings import (  # noqa: F401
    Closure,
    Holiday,
    OpenStatus,
    PracticeSettings,
    StaffMember,
    load_practice,
    parse_practice,
    staff_numbers,
    status_at,
)
