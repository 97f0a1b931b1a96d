"""Our CSV columns, the EHR header spellings that mean them (``HEADER_ALIASES``), and the limits of each cell."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from ivr.practice.models import Appointment, Client, Clinician

CLIENT_COLUMNS = ("client_id", "first_name", "last_name", "date_of_birth", "phone", "email", "clinician",
                  "may_voicemail", "may_text", "may_call", "time_zone")

APPOINTMENT_COLUMNS = ("appointment_id", "client_id", "clinician", "start", "end", "status", "telehealth_url")

CLINICIAN_COLUMNS = ("clinician_id", "name", "session_minutes", "working_hours")

REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "clients": ("client_id", "first_name", "last_name", "date_of_birth"),
    "appointments": ("appointment_id", "client_id", "start"),  # and an end or a duration
    "clinicians": ("name",),
}

_CLINICIAN_ALIASES = ("Clinician", "Provider", "Therapist", "Rendering Provider", "Primary Clinician",
                      "Assigned Clinician", "Primary Provider", "Counselor", "Clinician Name", "Provider Name")

_CLIENT_ID_ALIASES = ("Client ID", "Patient ID", "Chart #", "Chart Number", "Client Number", "Patient Number",
                      "MRN", "Medical Record Number")

# Header spellings EHRs use, per file, for each of our columns.  Matching ignores case,
# spaces and punctuation ("Date of Birth", "date_of_birth" and "DATE-OF-BIRTH" are one header);
# each column's own name is always accepted.
HEADER_ALIASES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "clients": {
        "client_id": _CLIENT_ID_ALIASES + ("ID",),
        "first_name": ("First Name", "Given Name", "Patient First Name", "Client First Name", "First"),
        "last_name": ("Last Name", "Surname", "Family Name", "Patient Last Name", "Client Last Name", "Last"),
        "date_of_birth": ("DOB", "Date of Birth", "Birthdate", "Birth Date", "Birthday", "Patient DOB",
                          "Client DOB"),
        # Several phone columns give several numbers; the first column (left to right) is the primary.
        "phone": ("Phone", "Phones", "Mobile Phone", "Cell Phone", "Mobile", "Cell", "Phone Number",
                  "Primary Phone", "Home Phone", "Work Phone", "Telephone", "Patient Phone", "Client Phone"),
        "email": ("Email", "Email Address", "E-mail", "Patient Email", "Client Email"),
        "clinician": _CLINICIAN_ALIASES,
        "may_voicemail": ("OK to leave voicemail", "May Leave Voicemail", "Voicemail OK", "OK to leave message",
                          "Leave Message OK", "Voicemail Consent"),
        "may_text": ("OK to text", "SMS Opt In", "Text Reminders", "Text OK", "SMS OK", "SMS Consent",
                     "Text Message Consent", "May Text"),
        "may_call": ("OK to call", "May Call", "Call OK", "Phone Calls OK", "Call Consent", "OK to phone",
                     "Automated Calls OK"),
        "time_zone": ("Time Zone", "Timezone", "TZ", "Client Time Zone", "Patient Time Zone", "Zone"),
    },
    "appointments": {
        "appointment_id": ("Appointment ID", "Appt ID", "Session ID", "Visit ID", "Appointment Number", "ID"),
        "client_id": _CLIENT_ID_ALIASES,
        "clinician": _CLINICIAN_ALIASES,
        # A start may be a date and time, or a time alone beside a date column ("Date", "Time"): both work.
        "start": ("Start", "Start Time", "Appointment Start", "Start Date/Time", "Starts At", "Time",
                  "Appointment Time", "Session Time", "Start Date Time", "Scheduled Time"),
        "end": ("End", "End Time", "Appointment End", "End Date/Time", "Ends At", "End Date Time"),
        "date": ("Date", "Appointment Date", "Appt Date", "Session Date", "Start Date", "Service Date",
                 "Date of Service", "DOS", "Visit Date"),
        # Instead of an end: the length in minutes.
        "duration": ("Duration", "Duration (min)", "Duration (mins)", "Duration (minutes)", "Duration Minutes",
                     "Length", "Length (min)", "Appointment Length", "Appt Duration", "Session Length",
                     "Session Duration", "Minutes"),
        "status": ("Status", "Appointment Status", "Appt Status", "Session Status"),
        "telehealth_url": ("Telehealth URL", "Telehealth Link", "Video Link", "Video URL", "Zoom Link",
                           "Meeting URL", "Meeting Link", "Join URL"),
    },
    "clinicians": {
        "clinician_id": ("Clinician ID", "Provider ID", "Therapist ID", "ID"),
        "name": ("Name", "Clinician", "Provider", "Therapist", "Clinician Name", "Provider Name", "Full Name"),
        "session_minutes": ("Session Minutes", "Session Length", "Session Duration", "Default Session Minutes",
                            "Minutes"),
        "working_hours": ("Working Hours", "Hours", "Availability", "Schedule"),
    },
}

MULTI_COLUMNS = {"phone"}  # a file may have several columns that mean this one

DEFAULT_FILE_NAMES: Mapping[str, str] = {"clients": "clients.csv", "appointments": "appointments.csv",
                                         "clinicians": "clinicians.csv"}

BOOLEAN_WORDS: Mapping[str, bool] = {"yes": True, "y": True, "true": True, "1": True, "x": True,
                                     "no": False, "n": False, "false": False, "0": False, "": False}

CHECKED_IN = "checked_in"  # a status word that is a check-in: the appointment stays scheduled, checked in

# EHR status words (lower case, punctuation as spaces) → our statuses.
STATUS_WORDS: Mapping[str, str] = {
    **dict.fromkeys(("scheduled", "booked", "confirmed", "unconfirmed", "pending"), "scheduled"),
    **dict.fromkeys(("cancelled", "canceled", "late cancel", "late cancelled", "late canceled",
                     "late cancellation", "cancellation"), "cancelled"),
    **dict.fromkeys(("completed", "complete", "attended", "show", "showed", "checked out", "kept"), "completed"),
    # Here now (in the waiting room, or in the video call): still the booked appointment, with a check-in.
    **dict.fromkeys(("arrived", "checked in", "check in", "checkedin", "in session", "in waiting room", "here"),
                    CHECKED_IN),
    **dict.fromkeys(("no show", "noshow", "no showed", "did not show", "dns"), "no_show"),
    "rescheduled": "rescheduled",
}

# Where a slash date is month first.  Elsewhere 04/05/1985 could be either: only ISO dates are read.
MONTH_FIRST_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM"})

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

DAY_ABBREVIATIONS = {d[:3]: d for d in WEEKDAYS}

ID_MAX = Client.__table__.c.id.type.length

NAME_MAX = Client.__table__.c.first_name.type.length

EMAIL_MAX = Client.__table__.c.email.type.length

CLINICIAN_NAME_MAX = Clinician.__table__.c.name.type.length

URL_MAX = Appointment.__table__.c.telehealth_url.type.length

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

EXCEL_NUMBER_RE = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)


def header_key(header: str) -> str:
    """How headers are compared: lower case, letters, digits and # only."""
    return re.sub(r"[^a-z0-9#]", "", unicodedata.normalize("NFKC", header).lower())

def _alias_table(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for column, aliases in HEADER_ALIASES[kind].items():
        for name in (column, *aliases):
            table[header_key(name)] = column
    return table

_ALIAS_TABLES = {kind: _alias_table(kind) for kind in HEADER_ALIASES}

def canonical_column(kind: str, header: str) -> str | None:
    """Our column for a header of a ``kind`` file ("clients", "appointments", "clinicians"), or None."""
    return _ALIAS_TABLES[kind].get(header_key(header))
