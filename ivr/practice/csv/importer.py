"""``import_practice``: check the parsed files against each other and the database, then write everything in
one transaction, or nothing: one bad row anywhere rejects the whole import with every problem listed.

Appointments Quietline changed (the change journal, ``ivr.practice.journal``) are reconciled, not
overwritten: a row still showing the state from before the change is **kept** (the phone's change
stands, its entry stays to enter); a row showing the change **confirms** its entries; a row that
disagrees with both is a **conflict**, recorded on the entry for staff to settle, and every other
row is imported.  A new EHR row at the clinician and start of a phone-made appointment of the same
client is that appointment as the EHR knows it (``Appointment.ehr_id``); a phone-made appointment
in the way of any other row is a conflict too, never a reason to refuse the file.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from ivr.exceptions import ImportRejected
from ivr.practice import journal
from ivr.practice.csv.cells import slugify
from ivr.practice.csv.columns import DEFAULT_FILE_NAMES
from ivr.practice.csv.parsing import (
    AppointmentRow,
    ClientRow,
    ClinicianRow,
    ParsedFile,
    RowProblem,
    parsed_appointments,
    parsed_clients,
    parsed_clinicians,
)
from ivr.practice.models import (
    ACTIVE,
    PHONE_ID_PREFIX,
    Appointment,
    ChangeKind,
    ChangeState,
    Client,
    ClientPhone,
    Clinician,
    PracticeChange,
)

_CHUNK = 500  # ids per IN (…) query: far below every backend's parameter limit


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # rows older than a phone change: the change stands (still to enter in the EHR)
    confirmed: int = 0  # rows showing a phone change: its journal entries are confirmed
    conflicts: int = 0  # rows disagreeing with a phone change: left for staff to settle

    def __str__(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.kept or self.confirmed or self.conflicts:
            text += (f", {self.kept} kept (phone change pending), {self.confirmed} confirmed, "
                     f"{self.conflicts} conflicts")
        return text

@dataclass
class ImportReport:
    """What an import did, per table, and the columns it did not use."""

    clinicians: Counts = field(default_factory=Counts)
    clients: Counts = field(default_factory=Counts)
    appointments: Counts = field(default_factory=Counts)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)  # file → headers
    conflicts: list[RowProblem] = field(default_factory=list)  # one per conflicting row, for the importer's screen

    def lines(self) -> list[str]:
        lines = [f"{name}: {getattr(self, name)}" for name in ("clinicians", "clients", "appointments")]
        return lines + [f"conflict: {c}" for c in self.conflicts]

def import_practice(session_factory: sessionmaker[Session], clients_text: str | None = None,
                    appointments_text: str | None = None, clinicians_text: str | None = None,
                    region: str = "US", *, names: Mapping[str, str] | None = None,
                    today: dt.date | None = None, now: dt.datetime | None = None,
                    tz: dt.tzinfo | None = None) -> ImportReport:
    """Check every file, then upsert everything by id in one transaction; ImportRejected if anything is wrong.

    ``names`` maps "clients"/"appointments"/"clinicians" to the file names used in problems.
    Clinicians named in clients or appointments are matched by id or name; unknown ones are
    created (id = the name's slug) unless a clinicians.csv is given, which then must list them.
    ``tz`` is the practice's zone: appointment times written without a UTC offset are read in it (None:
    an offset is required).  ``now`` stamps journal entries confirmed or put in conflict (default: the wall clock).
    """
    now = now or dt.datetime.now(dt.UTC)
    files = {**DEFAULT_FILE_NAMES, **(names or {})}
    order = [files["clients"], files["appointments"], files["clinicians"]]
    report = ImportReport()
    empty = ParsedFile([], [], [])
    clinicians = parsed_clinicians(clinicians_text, files["clinicians"]) if clinicians_text is not None else empty
    clients = parsed_clients(clients_text, region, files["clients"], today) if clients_text is not None else empty
    appointments = (parsed_appointments(appointments_text, files["appointments"], tz, region)
                    if appointments_text is not None else empty)
    for kind, parsed in (("clients", clients), ("appointments", appointments), ("clinicians", clinicians)):
        if parsed.ignored:
            report.ignored_columns[files[kind]] = parsed.ignored
    problems = clinicians.problems + clients.problems + appointments.problems

    with session_factory() as session, session.begin():
        plan = _Plan(session, files, clinicians, clients, appointments, given_clinicians=clinicians_text is not None,
                     now=now, given_clients=clients_text is not None)
        problems += plan.problems
        if problems:
            rank = {name: i for i, name in enumerate(order)}
            raise ImportRejected(sorted(problems, key=lambda p: (rank.get(p.file, 9), p.line)))
        try:
            plan.apply(report)
            session.flush()
        except IntegrityError as exc:
            # Only a concurrent change (a caller booking that slot a moment ago) gets here: the plan checked the rest.
            raise ImportRejected([RowProblem(files["appointments"], 0, None,
                                             f"the database refused the import ({exc.orig.__class__.__name__}); "
                                             "it changed while importing: try again")]) from None
    return report

class _Plan:
    """Cross-file and database checks, then the writes, inside the import's transaction."""

    def __init__(self, session: Session, files: Mapping[str, str], clinicians: ParsedFile, clients: ParsedFile,
                 appointments: ParsedFile, *, given_clinicians: bool, now: dt.datetime, given_clients: bool = True):
        self.session = session
        self.now = now
        self.files = files
        self.clinician_rows: list[ClinicianRow] = clinicians.rows
        self.client_rows: list[ClientRow] = clients.rows
        self.appointment_rows: list[AppointmentRow] = appointments.rows
        self.given_clinicians = given_clinicians
        self.given_clients = given_clients
        self.problems: list[RowProblem] = []
        self.db_clinicians = {c.id: c for c in session.scalars(select(Clinician))}
        self.new_clinicians: dict[str, str] = {}  # id → name, created from names in the files
        self.client_clinician: dict[str, str | None] = {}  # clients.csv row id → resolved clinician id
        self.appointment_clinician: dict[str, str] = {}
        self._unresolved: set[str] = set()  # clients whose clinician could not be resolved (reported)
        self._known = self._clinician_index(clinicians)
        self._resolve_clients()
        self.db_clients = self._load(Client, {r.client_id for r in self.client_rows} |
                                     {r.client_id for r in self.appointment_rows}, phones=True)
        self.db_appointments = self._load(Appointment, {r.appointment_id for r in self.appointment_rows})
        self._resolve_appointments(clients.ids)
        # Reconciliation with the change journal: rows left alone (kept, confirmed, conflict) → their outcome,
        # rows written to another appointment than their id's (a phone-made one) → it, and what to do then.
        self.skipped: dict[str, str] = {}
        self.target: dict[str, Appointment] = {}
        self.adopt: dict[str, Appointment] = {}  # new EHR id → the phone-made appointment it is
        self.settle: list[tuple[str, list[PracticeChange], dict | None]] = []  # (outcome, entries, EHR version)
        self.conflicts: list[RowProblem] = []
        self._row_ids = {r.appointment_id for r in self.appointment_rows}
        self._journal_index: tuple[dict[str, list[PracticeChange]], dict[str, list[PracticeChange]]] | None = None
        self._reconcile()
        self._check_slots()

    # -- clinicians

    def _clinician_index(self, clinicians: ParsedFile) -> dict[str, set[str]]:
        """Lookup keys (id, slug of id, slug of name) → clinician ids; the files' rows win over the database."""
        index: dict[str, set[str]] = {}
        entries = {c.id: c.name for c in self.db_clinicians.values()}
        entries.update({r.clinician_id: r.name for r in self.clinician_rows})
        for cid, name in entries.items():
            for key in {cid, slugify(cid), slugify(name)}:
                index.setdefault(key, set()).add(cid)
        # Bad clinicians.csv rows: their names still count as listed (their problem is reported already).
        for key in clinicians.bad_keys:
            for variant in {key, slugify(key)}:
                index.setdefault(variant, set()).add("")
        return index

    def _resolve_clinician(self, ref: str, file: str, line: int) -> str | None:
        """The clinician id ``ref`` means; None when there is none (the problem is recorded once)."""
        slug = slugify(ref)
        matches = self._known.get(ref) or self._known.get(slug) or set()
        if "" in matches:
            return None  # a bad clinicians.csv row: reported there
        if len(matches) == 1:
            return next(iter(matches))
        if len(matches) > 1:
            self.problems.append(RowProblem(file, line, "clinician", f"clinician '{ref}' could be any of "
                                            f"{', '.join(sorted(matches))}: use the clinician_id"))
            return None
        if self.given_clinicians:
            self.problems.append(RowProblem(file, line, "clinician", f"clinician '{ref}' is not in "
                                            f"{self.files['clinicians']} or the database"))
            return None
        if not slug:
            self.problems.append(RowProblem(file, line, "clinician", f"clinician '{ref}' has no letters or digits"))
            return None
        self.new_clinicians[slug] = ref
        self._known[slug] = {slug}
        return slug

    def _resolve_clients(self) -> None:
        for row in self.client_rows:
            if "clinician" not in row.columns:
                continue  # the file does not say: the client keeps the clinician they have
            resolved = self._resolve_clinician(row.clinician, self.files["clients"], row.line) \
                if row.clinician else None
            self.client_clinician[row.client_id] = resolved
            if row.clinician and resolved is None:
                self._unresolved.add(row.client_id)

    # -- appointments

    def _resolve_appointments(self, listed_clients: set[str]) -> None:
        """Each appointment's client must exist; its clinician is the row's, else the client's."""
        file = self.files["appointments"]
        valid_clients = {r.client_id for r in self.client_rows}
        for row in self.appointment_rows:
            client = self.db_clients.get(row.client_id)
            if row.client_id not in listed_clients and client is None:
                where = (f"in {self.files['clients']} or the database" if self.given_clients else
                         "in the database (import a clients file with it)")
                self.problems.append(RowProblem(file, row.line, "client_id",
                                                f"client_id '{row.client_id}' is not {where}"))
                continue
            if row.clinician:
                clinician = self._resolve_clinician(row.clinician, file, row.line)
                if clinician:
                    self.appointment_clinician[row.appointment_id] = clinician
                continue
            if row.client_id in listed_clients and row.client_id not in valid_clients:
                continue  # the client's row is bad: reported in clients.csv
            if row.client_id in self._unresolved:
                continue  # the client's clinician is unknown: reported in clients.csv
            if row.client_id in self.client_clinician:  # this import sets the client's clinician
                clinician = self.client_clinician[row.client_id]
            else:
                clinician = client.clinician_id if client is not None else None
            if clinician is None:
                self.problems.append(RowProblem(file, row.line, "clinician", "clinician is blank and client "
                                                f"'{row.client_id}' has no clinician"))
            else:
                self.appointment_clinician[row.appointment_id] = clinician

    def _check_slots(self) -> None:
        """One scheduled appointment per clinician and start, across the file and the database."""
        file = self.files["appointments"]
        taken: dict[tuple[str, dt.datetime], int] = {}
        rows: dict[int, AppointmentRow] = {}
        for row in self.appointment_rows:
            clinician = self.appointment_clinician.get(row.appointment_id)
            if clinician is None or row.appointment_id in self.skipped or self._final_status(row) != ACTIVE:
                continue
            rows[row.line] = row
            key = (clinician, row.start.astimezone(dt.UTC))
            if key in taken:
                self.problems.append(RowProblem(file, row.line, "start", f"clinician '{clinician}' already has a "
                                                f"scheduled appointment at this start (line {taken[key]})"))
            else:
                taken[key] = row.line
        if not taken:
            return
        importing = {r.appointment_id for r in self.appointment_rows if r.appointment_id not in self.skipped}
        importing |= {a.id for a in self.target.values()} | {a.id for a in self.adopt.values()}
        starts = sorted({start for _, start in taken})
        for chunk in _chunks(starts):
            query = select(Appointment.id, Appointment.clinician_id, Appointment.start).where(
                Appointment.status == ACTIVE, Appointment.start.in_(chunk))
            for other_id, clinician, start in self.session.execute(query):
                line = taken.get((clinician, start))
                if line is not None and other_id not in importing and other_id.startswith(PHONE_ID_PREFIX):
                    # A phone booking holds the slot: this row waits for staff, the rest of the file goes in.
                    row = rows[line]
                    self._conflict(row, self._entries_after(other_id),
                                   f"clinician '{clinician}' has appointment '{other_id}' booked by phone at "
                                   "this start", held_by=other_id)
                elif line is not None and other_id not in importing:
                    self.problems.append(
                        RowProblem(
                            file,
                            line,
                            "start",
                            f"clinician '{clinician}' already has "
                            f"scheduled appointment '{other_id}' at this start in the database",
                        )
                    )

    # -- reconciling with the change journal

    def _reconcile(self) -> None:
        """Decide, for each row about an appointment Quietline changed, whether it is kept, confirms or conflicts."""
        ids = {r.appointment_id for r in self.appointment_rows}
        missing = sorted(ids - set(self.db_appointments))
        by_ehr: dict[str, Appointment] = {}
        for chunk in _chunks(missing):
            by_ehr.update({a.ehr_id: a for a in self.session.scalars(
                select(Appointment).where(Appointment.ehr_id.in_(chunk)))})
        # New EHR rows first: one may be a phone-made appointment as the EHR knows it, which the rows of
        # the appointments it replaced need to know.
        for row in self.appointment_rows:
            if row.appointment_id not in self.db_appointments and row.appointment_id not in by_ehr:
                self._maybe_adopt(row)
        for row in self.appointment_rows:
            existing = self.db_appointments.get(row.appointment_id)
            if existing is None and row.appointment_id in by_ehr:
                existing = self.target[row.appointment_id] = by_ehr[row.appointment_id]
            if existing is not None:
                self._reconcile_row(row, existing)

    def _maybe_adopt(self, row: AppointmentRow) -> None:
        """A new row at the clinician and start of a phone-made appointment of its client: that appointment."""
        clinician = self.appointment_clinician.get(row.appointment_id)
        if clinician is None or row.status != ACTIVE:
            return
        phone = self.session.scalars(select(Appointment).where(
            Appointment.clinician_id == clinician, Appointment.start == row.start, Appointment.status == ACTIVE,
            Appointment.id.like(f"{PHONE_ID_PREFIX}%"), Appointment.ehr_id.is_(None))).first()
        if phone is None or phone.client_id != row.client_id or phone in self.adopt.values():
            return  # another client's: _check_slots reports the conflict
        self.adopt[row.appointment_id] = phone
        entries = [e for e in self._entries_after(phone.id) if e.state != ChangeState.CONFIRMED.value]
        if _same_times(row, phone):
            self.skipped[row.appointment_id] = "confirmed"
            self.settle.append(("confirmed", entries, None))
        else:
            self.target[row.appointment_id] = phone  # the EHR moved it since: the EHR's version is written

    def _reconcile_row(self, row: AppointmentRow, existing: Appointment) -> None:
        chain = journal.appointment_chain(self.session, existing.id)
        current = chain[-1] if chain else existing
        made = self._entries_after(existing.id) if existing.id.startswith(PHONE_ID_PREFIX) else []
        entries = [e for e in [*made, *self._chain_entries(existing.id)]
                   if e.state != ChangeState.CONFIRMED.value or e.conflict]
        entries = list({e.id: e for e in entries}.values())
        status = row.status if "status" in row.columns else ACTIVE
        clinician = self.appointment_clinician.get(row.appointment_id)
        adopted = current.ehr_id is not None or current in self.adopt.values()
        if not entries:
            if current is existing:
                return  # nothing Quietline changed is pending: the EHR's row is written as usual
            if status != ACTIVE:
                self.skipped[row.appointment_id] = "unchanged"  # the EHR moved it away too
            else:
                self.target[row.appointment_id] = current  # later changes in the EHR go to the appointment it became
            return
        # The row may show any state along the chain of pending changes: the one before them (kept), the one
        # after the last (all confirmed), or the one after an earlier change (that far confirmed, the rest kept).
        # The newest state is tried first: a move there and back shows the last change, not the first's before.
        final = journal.appointment_state(current)
        in_file = current.id in self._row_ids
        if _matches(row, status, clinician, final) or (
                status != ACTIVE and current is not existing and current.status == ACTIVE and (adopted or in_file)):
            # The old appointment's row showing it replaced, with the replacement active (adopted by the EHR, or
            # its own row in this file: Quietline's own export imported back), shows the change too.
            self.skipped[row.appointment_id] = "confirmed"
            self.settle.append(("confirmed", entries, None))
            return
        for i in range(len(entries) - 2, -1, -1):
            if _matches(row, status, clinician, entries[i].after):
                self.skipped[row.appointment_id] = "kept"  # the later changes are still to enter
                self.settle.append(("confirmed", entries[:i + 1], None))
                return
        if _matches(row, status, clinician, entries[0].before):
            self.skipped[row.appointment_id] = "kept"
            return
        self._conflict(row, entries, "the EHR shows this appointment differently from the change made by phone "
                                     f"(change #{entries[-1].id or 'new'}): a staff member chooses")

    def _entries_after(self, appointment_id: str) -> list[PracticeChange]:
        """The journal entries that made ``appointment_id`` (a phone-made appointment), oldest first."""
        made = self._journal()[1].get(appointment_id, [])
        if not made or not made[0].appointment_id:
            return list(made)
        return self._chain_entries(made[0].appointment_id)

    def _chain_entries(self, appointment_id: str) -> list[PracticeChange]:
        """``journal.chain_entries`` from the import's index of the journal (one query per import, not per row)."""
        ids = [a.id for a in journal.appointment_chain(self.session, appointment_id)] or [appointment_id]
        by_appointment = self._journal()[0]
        found = [e for i in dict.fromkeys(ids) for e in by_appointment.get(i, [])]
        return sorted(found, key=lambda e: (e.made_at, e.id))

    def _journal(self) -> tuple[dict[str, list[PracticeChange]], dict[str, list[PracticeChange]]]:
        """The appointment entries, loaded once: by ``appointment_id``, and by the appointment they made
        (``after["appointment_id"]``), each oldest first."""
        if self._journal_index is None:
            by_appointment: dict[str, list[PracticeChange]] = {}
            by_made: dict[str, list[PracticeChange]] = {}
            for entry in self.session.scalars(select(PracticeChange).where(
                    PracticeChange.kind.in_(sorted(journal.APPOINTMENT_KINDS))).order_by(PracticeChange.id)):
                by_appointment.setdefault(entry.appointment_id or "", []).append(entry)
                made = (entry.after or {}).get("appointment_id")
                if made:
                    by_made.setdefault(made, []).append(entry)
            self._journal_index = (by_appointment, by_made)
        return self._journal_index

    def _conflict(self, row: AppointmentRow, entries: Sequence[PracticeChange], reason: str, *,
                  held_by: str | None = None) -> None:
        """Leave ``row`` for staff, on the last of ``entries``; kept instead when staff chose the phone's change
        over this very row before (``PracticeChange.overridden``)."""
        version = {"appointment_id": row.appointment_id, "start": row.start.astimezone(dt.UTC).isoformat(),
                   "end": row.end.astimezone(dt.UTC).isoformat(),
                   "status": row.status if "status" in row.columns else ACTIVE,
                   "clinician_id": self.appointment_clinician.get(row.appointment_id),
                   "client_id": row.client_id, "held_by": held_by,
                   "file": self.files["appointments"], "line": row.line}
        if entries and journal.same_version(entries[-1].overridden, version):
            self.skipped[row.appointment_id] = "kept"
            return
        self.skipped[row.appointment_id] = "conflict"
        self.settle.append(("conflict", list(entries[-1:]), version))
        self.conflicts.append(RowProblem(self.files["appointments"], row.line, "start", reason))

    def _final_status(self, row: AppointmentRow) -> str:
        """The status the appointment will have: a file without a status column keeps the stored one."""
        existing = self.db_appointments.get(row.appointment_id)
        return existing.status if existing is not None and "status" not in row.columns else row.status

    def _load(self, model, ids: set[str], phones: bool = False) -> dict:
        found = {}
        for chunk in _chunks(sorted(ids)):
            query = select(model).where(model.id.in_(chunk))
            if phones:
                query = query.options(selectinload(Client.phones))
            found.update({obj.id: obj for obj in self.session.scalars(query)})
        return found

    def _confirm_texting(self, report: ImportReport) -> None:
        """Texting-preference entries (STOP/START) a clients.csv ``may_text`` shows are confirmed: for each client,
        every pending entry up to the newest whose ``after`` the row shows (later ones stay to enter)."""
        shows = {r.client_id: ("allowed" if r.may_text else "stopped") for r in self.client_rows
                 if "may_text" in r.columns}
        pending: dict[str, list[PracticeChange]] = {}
        for chunk in _chunks(sorted(shows)):
            for entry in self.session.scalars(select(PracticeChange).where(
                    PracticeChange.kind == ChangeKind.TEXTING_PREFERENCE.value, PracticeChange.client_id.in_(chunk),
                    PracticeChange.state != ChangeState.CONFIRMED.value).order_by(PracticeChange.id)):
                pending.setdefault(entry.client_id or "", []).append(entry)
        for client_id, entries in pending.items():
            shown = [i for i, e in enumerate(entries) if (e.after or {}).get("texting") == shows[client_id]]
            if not shown:
                continue
            for entry in entries[:shown[-1] + 1]:
                entry.state, entry.confirmed_at = ChangeState.CONFIRMED.value, self.now
            report.clients.confirmed += 1

    # -- writing

    def apply(self, report: ImportReport) -> None:
        session = self.session
        for row in self.clinician_rows:
            clinician = self.db_clinicians.get(row.clinician_id)
            if clinician is None:
                clinician = Clinician(id=row.clinician_id, name=row.name, working_hours=row.working_hours or {},
                                      session_minutes=row.session_minutes or 50)
                session.add(clinician)
                report.clinicians.created += 1
                continue
            changes = {"name": row.name}
            if row.session_minutes is not None:
                changes["session_minutes"] = row.session_minutes
            if "working_hours" in row.columns:
                changes["working_hours"] = row.working_hours or {}
            _count(report.clinicians, _update(clinician, changes))
        for cid, name in self.new_clinicians.items():
            session.add(Clinician(id=cid, name=name, working_hours={}, session_minutes=50))
            report.clinicians.created += 1
        session.flush()

        for row in self.client_rows:
            client = self.db_clients.get(row.client_id)
            fields: dict[str, object] = {"first_name": row.first_name, "last_name": row.last_name,
                                         "date_of_birth": row.date_of_birth}
            # A column the file does not have leaves that field as it is (new clients get the defaults).
            optional = {"email": ("email", row.email),
                        "clinician": ("clinician_id", self.client_clinician.get(row.client_id)),
                        "may_voicemail": ("may_voicemail", row.may_voicemail),
                        "may_text": ("may_text", row.may_text),
                        "may_call": ("may_call", row.may_call),
                        "time_zone": ("time_zone", row.time_zone)}
            for column, (name, value) in optional.items():
                if column in row.columns:
                    fields[name] = value
            if client is None:
                client = Client(id=row.client_id, **fields)
                client.phones = [ClientPhone(e164=e, position=i) for i, e in enumerate(row.phones)]
                session.add(client)
                self.db_clients[row.client_id] = client
                report.clients.created += 1
                continue
            changed = _update(client, fields)
            if "phone" in row.columns:
                changed = _replace_phones(client, row.phones) or changed
            _count(report.clients, changed)
        self._confirm_texting(report)
        session.flush()

        for outcome, entries, version in self.settle:
            for entry in entries:
                if outcome == "confirmed":
                    entry.state, entry.confirmed_at = ChangeState.CONFIRMED.value, self.now
                    entry.conflict, entry.conflict_at = None, None
                else:
                    entry.conflict, entry.conflict_at = version, self.now
        for ehr_id, phone in self.adopt.items():
            phone.ehr_id = ehr_id
        report.conflicts.extend(self.conflicts)
        for row in self.appointment_rows:
            outcome = self.skipped.get(row.appointment_id)
            if outcome is not None:
                setattr(report.appointments, {"conflict": "conflicts"}.get(outcome, outcome),
                        getattr(report.appointments, {"conflict": "conflicts"}.get(outcome, outcome)) + 1)
                continue
            appointment = self.target.get(row.appointment_id) or self.db_appointments.get(row.appointment_id)
            fields = {"client_id": row.client_id, "clinician_id": self.appointment_clinician[row.appointment_id],
                      "start": row.start, "end": row.end}
            if "status" in row.columns or appointment is None:
                fields["status"] = row.status
            if "telehealth_url" in row.columns:
                fields["telehealth_url"] = row.telehealth_url
            if row.checked_in:
                # The EHR says the client is here: a check-in (no "late" touch), not a change of the appointment.
                fields["checked_in"] = True
            if appointment is None:
                session.add(Appointment(id=row.appointment_id, **fields))
                report.appointments.created += 1
            else:
                _count(report.appointments, _update(appointment, fields))

def _same_times(row: AppointmentRow, appointment: Appointment) -> bool:
    return row.start == appointment.start and row.end == appointment.end


def _matches(row: AppointmentRow, status: str, clinician: str | None, state: Mapping[str, object]) -> bool:
    """Whether the row shows ``state`` (a journal side): the same status, and for an active one the same times."""
    if status != state.get("status"):
        return False
    if status != ACTIVE:
        return True
    return (row.start.astimezone(dt.UTC).isoformat() == state.get("start")
            and row.end.astimezone(dt.UTC).isoformat() == state.get("end")
            and (clinician is None or clinician == state.get("clinician_id")))


def _update(obj: object, fields: Mapping[str, object]) -> bool:
    """Set the fields that differ; whether any did (unchanged rows keep their updated_at)."""
    changed = False
    for name, value in fields.items():
        # Aware datetimes compare by instant: 10:00-05:00 equals the stored 15:00 UTC.
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed

def _replace_phones(client: Client, numbers: Sequence[str]) -> bool:
    """Make the client's numbers exactly ``numbers``, in order, keeping rows for numbers that stay.

    Reusing rows matters: deleting a number and inserting it again in one flush would
    hit the (client_id, e164) unique constraint, as the ORM inserts before it deletes.
    """
    if [p.e164 for p in client.phones] == list(numbers):
        return False
    existing = {p.e164: p for p in client.phones}
    kept = []
    for position, number in enumerate(numbers):
        phone = existing.pop(number, None) or ClientPhone(e164=number)
        phone.position = position
        kept.append(phone)
    client.phones = kept
    return True

def _count(counts: Counts, changed: bool) -> None:
    if changed:
        counts.updated += 1
    else:
        counts.unchanged += 1

def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
