"""Practice settings: identity, opening hours, holidays, closures, staff."""
from ivr.practice.settings import (
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
