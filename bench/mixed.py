"""Mixed traffic for the webhook bench: callers who identify themselves, verify and use the menus.

A ``MixedCall`` is a simulated caller who, like ``loadgen.FlowCall`` (and Twilio), follows the TwiML
it gets back: ``<Gather action>``, ``<Redirect>``, ``<Dial action>`` (rings out), ``<Record action>``
(a 5 s message, then the recording status callback), ``<Hangup>`` and the call status callback.  What
it answers at each ``<Gather>`` depends on its **path** and on the prompt it hears (the text inside
the ``<Gather>``), so a path that goes somewhere unexpected (a prompt the path has no answer for) is a
``walk`` error, never a silent detour.

The paths and their share of calls (``MIX``; "a realistic mix: most calls identify themselves"):

==============  =====  ==========================================================================
path            share  what the caller does
==============  =====  ==========================================================================
``silence``      15 %  says nothing at the first menu (no-input), then 0: a person (ringing
                       the front desk when open, voicemail when closed)
``crisis``        5 %  9 at the first menu: guidance, on-call ``<Dial>``, voicemail
``operator``      5 %  0 at the first menu
``keep``         20 %  1 (appointments), date of birth, hears the next appointment, keeps it (3)
``reschedule``   20 %  1, date of birth, reschedule (1), the first slot (1), confirm (1):
                       booked, confirmation text
``cancel``        5 %  1, date of birth, cancel (2), confirm (1), a reason (1)
``links``        25 %  2 (links), date of birth, the video link (1) or the portal (2): texted
``withheld``      5 %  caller ID withheld: 1, the number on file, date of birth, keeps the
                       appointment (3)
==============  =====  ==========================================================================

So 80 % of calls identify and verify themselves.  Nobody gives a wrong date of birth: wrong
answers count against the practice (``verification: max_failures_per_hour``), and at bench rates
the practice lock would refuse every date of birth within seconds, which is the policy working,
not a load to measure.  Nobody uses a PIN: each PIN answer costs three scrypt checks on purpose
(``ivr.practice.verification.PIN_CHECKS_PER_ANSWER``).

The practice (``seed``): ``clients`` clients (default 3,000, each with a unique number and a date of
birth, texts allowed) of 40 clinicians who work 08:00–20:00 every day; every client has 4 upcoming
appointments, half the clinicians' hours stay free so reschedules find slots.  A call takes a client
no other call in progress has (``ClientPool``), so two calls never move the same appointment.
"""
from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import loadgen
from loadgen import ACCOUNT_SID, API_VERSION, LINE, Request, Signer, WalkError

# (path, share of calls in %)
MIX: tuple[tuple[str, int], ...] = (
    ("silence", 15), ("crisis", 5), ("operator", 5), ("keep", 20), ("reschedule", 20), ("cancel", 5),
    ("links", 25), ("withheld", 5),
)
PATHS = tuple(name for name, _ in MIX)
VERIFYING = frozenset({"keep", "reschedule", "cancel", "links", "withheld"})

# The prompts a caller may hear inside a <Gather>, by what they ask (first match wins).
PROMPTS: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("main", re.compile(rb"To reschedule or cancel an appointment, press 1")),
    ("number", re.compile(rb"phone number we have on file")),
    ("dob", re.compile(rb"date of birth as eight digits")),
    ("choose", re.compile(rb"To reschedule it, press 1")),
    ("pick", re.compile(rb"I can offer")),
    ("confirm_slot", re.compile(rb"To book it, press 1")),
    ("slot_gone", re.compile(rb"That choice isn.t available")),
    ("confirm_cancel", re.compile(rb"To cancel your appointment")),
    ("reason", re.compile(rb"tell us why")),
    ("none_menu", re.compile(rb"so we can book one")),
    ("links", re.compile(rb"For the video link")),
)

# What each path answers to each prompt; a list is consumed in order (the main menu may be heard twice).
# "" is silence: the <Gather> times out and Twilio follows the <Redirect>.  "{dob}" / "{number}" are
# the caller's own.  A prompt missing here is a walk error for that path.
_AFTER_VERIFY = {"none_menu": "1"}  # an appointment cancelled earlier in the run: leave a message
ANSWERS: dict[str, dict[str, list[str]]] = {
    "silence": {"main": ["", "0"]},
    "crisis": {"main": ["9"]},
    "operator": {"main": ["0"]},
    "keep": {"main": ["1"], "dob": ["{dob}"], "choose": ["3"]},
    "reschedule": {"main": ["1"], "dob": ["{dob}"], "choose": ["1"], "pick": ["1"] * 4,
                   "confirm_slot": ["1"] * 4, "slot_gone": ["2"] * 4},
    "cancel": {"main": ["1"], "dob": ["{dob}"], "choose": ["2"], "confirm_cancel": ["1"], "reason": ["1"]},
    "links": {"main": ["2"], "dob": ["{dob}"], "links": ["{link}"]},
    "withheld": {"main": ["1"], "number": ["{number}"], "dob": ["{dob}"], "choose": ["3"]},
}
for _name in VERIFYING:
    ANSWERS[_name].update({k: list(v * 4) for k, v in _AFTER_VERIFY.items()})

# A verifying caller gives their own date of birth: hearing either of these means the walk went wrong.
_NOT_VERIFIED = re.compile(rb"couldn.t confirm those details|can.t confirm your identity")
_GATHER_RE = re.compile(rb"<Gather\b([^>]*)>(.*?)</Gather>", re.S)
_VERB_RE = re.compile(rb"<(Gather|Redirect|Dial|Record|Hangup|Reject)\b([^>]*?)(/?)>")
MAX_WEBHOOKS_PER_CALL = 30


# --------------------------------------------------------------------------- the practice


@dataclass(frozen=True)
class BenchClient:
    id: str
    e164: str  # the number on file, and the caller ID of its calls
    dob: str  # as a caller types it: MMDDYYYY


def bench_clients(count: int) -> list[BenchClient]:
    """The seeded clients, derived from their index (the bench process and the seeding agree)."""
    out = []
    for i in range(count):
        dob = dt.date(1950, 1, 1) + dt.timedelta(days=(i * 37) % 20000)
        out.append(BenchClient(f"B-{i:05d}", f"+1555{2000000 + i:07d}", dob.strftime("%m%d%Y")))
    return out


def seed(database_url: str, clients: int, tz_name: str, now: dt.datetime | None = None) -> None:
    """Migrate ``database_url`` and add the bench practice (see the module docstring)."""
    from ivr.db.database import Database, upgrade
    from ivr.practice.models import Appointment, Client, ClientPhone, Clinician

    tz = ZoneInfo(tz_name)
    now = now or dt.datetime.now(dt.UTC)
    database = Database.from_url(database_url)
    try:
        upgrade(database.engine)
        clinicians = 40
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        hours = list(range(8, 20))  # 12 one-hour slots a day, 50-minute sessions
        start_day = now.astimezone(tz).date() + dt.timedelta(days=1)
        per = 4
        with database.sessions() as db, db.begin():
            for c in range(clinicians):
                db.add(Clinician(id=f"K-{c:02d}", name=f"Clinician {c}", session_minutes=50,
                                 working_hours={d: ["08:00-20:00"] for d in days}))
            db.flush()
            used: dict[int, int] = {}
            for i, bc in enumerate(bench_clients(clients)):
                clinician = i % clinicians
                client = Client(id=bc.id, first_name="Client", last_name=f"{i}",
                                date_of_birth=dt.datetime.strptime(bc.dob, "%m%d%Y").date(),
                                clinician_id=f"K-{clinician:02d}", may_voicemail=True, may_text=True)
                client.phones = [ClientPhone(e164=bc.e164, position=0)]
                db.add(client)
                for k in range(per):
                    n = used.get(clinician, 0)
                    used[clinician] = n + 1
                    slot = 2 * n  # every other hour: half of each day stays open for reschedules
                    day = start_day + dt.timedelta(days=slot // len(hours))
                    start = dt.datetime.combine(day, dt.time(hours[slot % len(hours)]), tzinfo=tz)
                    db.add(Appointment(id=f"BA-{i:05d}-{k}", client_id=bc.id, clinician_id=f"K-{clinician:02d}",
                                       start=start, end=start + dt.timedelta(minutes=50), status="scheduled",
                                       telehealth_url=f"https://video.example.com/r/bench{i}x{k}"))
    finally:
        database.dispose()


class ClientPool:
    """Clients no call in progress is using, so two calls never act on the same appointment."""

    def __init__(self, clients: list[BenchClient]):
        self.free = list(clients)
        random.shuffle(self.free)
        self.exhausted = 0

    def take(self) -> BenchClient:
        if self.free:
            return self.free.pop()
        raise WalkError("every bench client is in a call: seed more (--clients)")

    def give_back(self, client: BenchClient) -> None:
        self.free.insert(0, client)  # last in line: its just-moved appointment rests a while


# --------------------------------------------------------------------------- one caller


class MixedCall:
    """One simulated caller taking ``path``; ``next_request`` / ``answer`` like ``loadgen.FlowCall``."""

    __slots__ = ("signer", "path", "client", "pool", "sid", "common", "pending", "sent", "done", "heard",
                 "answers", "released")

    def __init__(self, signer: Signer, path: str, pool: ClientPool | None):
        self.signer = signer
        self.path = path
        self.pool = pool
        self.client = pool.take() if (pool is not None and path in VERIFYING) else None
        self.released = False
        self.sid = "CA" + uuid.uuid4().hex
        if path == "withheld":
            caller = "anonymous"  # what Twilio posts for a withheld caller ID
        elif self.client is not None:
            caller = self.client.e164
        else:
            caller = "+1555" + str(random.randrange(1000000, 1999999))  # no client has these
        self.common = {"CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": LINE,
                       "Caller": caller, "Called": LINE, "Direction": "inbound", "ApiVersion": API_VERSION}
        self.sent = 0
        self.done = False
        self.heard: list[str] = []  # prompts answered, for error messages
        self.answers = {k: list(v) for k, v in ANSWERS[path].items()}
        self.pending: list[Request] = [self._request(signer.public_base + "/twilio/voice",
                                                     {**self.common, "CallStatus": "ringing"}, "voice", True)]

    def _request(self, url: str, params: dict[str, str], kind: str, twiml: bool) -> Request:
        req = self.signer.request(url, params, kind, twiml)
        req.path_name = self.path
        return req

    def next_request(self) -> Request:
        self.sent += 1
        if self.sent > MAX_WEBHOOKS_PER_CALL:
            raise WalkError(f"{self.path}: more webhooks than the path has: the flow loops ({self.heard})")
        if not self.pending:
            raise WalkError(f"{self.path}: nothing left to send on a call that has not ended")
        return self.pending.pop(0)

    def release(self) -> None:
        """Give the client back (the call ended, or failed)."""
        if self.client is not None and self.pool is not None and not self.released:
            self.released = True
            self.pool.give_back(self.client)

    def answer(self, req: Request, body: bytes) -> None:
        """Read the TwiML like Twilio and queue what Twilio would send next."""
        if not req.twiml:
            if req.kind == "status":
                self.done = True
                self.release()
            elif not self.pending:
                self._status_callback()
            return
        if self.client is not None and _NOT_VERIFIED.search(body):
            raise WalkError(f"{self.path}: the caller was not verified with their own date of birth")
        for m in _VERB_RE.finditer(body):
            verb, attrs = m.group(1), m.group(2)
            if verb == b"Gather":
                if loadgen.falls_through(body, m.end()):
                    continue  # a prompt that takes keys before the beep or the ringing: the caller listens
                g = _GATHER_RE.match(body, m.start())
                prompt = self._prompt(g.group(2) if g else b"")
                queue = self.answers.get(prompt)
                if not queue:
                    raise WalkError(f"{self.path}: no answer for the {prompt!r} prompt (after {self.heard})")
                keys = self._fill(queue.pop(0))
                self.heard.append(prompt)
                if not keys:
                    continue  # silence: Twilio goes on with the next verb (the <Redirect>)
                self._post(loadgen.action_url(attrs), {"Digits": keys}, "gather-digits")
                return
            if loadgen.follow_verb(self, verb, attrs, body, m.end()):
                return
            break  # Hangup / Reject
        # <Hangup>, or the document ran out of verbs: Twilio ends the call.
        if not self.heard:
            raise WalkError(f"{self.path}: the call ended before the caller could answer anything")
        if not self.pending:
            self._status_callback()

    def _prompt(self, text: bytes) -> str:
        for name, pattern in PROMPTS:
            if pattern.search(text):
                return name
        raise WalkError(f"{self.path}: a prompt the bench does not know: {text[:160]!r}")

    def _fill(self, answer: str) -> str:
        if answer == "{dob}":
            return self.client.dob if self.client else "01011970"
        if answer == "{number}":
            return self.client.e164[2:] if self.client else "5550000000"
        if answer == "{link}":
            return random.choice("12")
        return answer

    def _post(self, url: str, extra: dict[str, str], kind: str) -> None:
        params = {**self.common, "CallStatus": "in-progress", **extra}
        self.pending.append(self._request(url, params, kind, True))

    def _status_callback(self) -> None:
        params = {**self.common, "CallStatus": "completed", "CallDuration": str(60 + self.sent * 9)}
        self.pending.append(self._request(self.signer.public_base + "/twilio/status", params, "status", False))


def mixed_factory(signer: Signer, pool: ClientPool, paths: tuple[str, ...] | None = None,
                  seed_: int | None = None) -> Callable[[], MixedCall]:
    """New callers, their paths drawn by ``MIX`` (or only ``paths``, equally)."""
    rng = random.Random(seed_)
    if paths:
        names, weights = list(paths), [1] * len(paths)
    else:
        names, weights = [n for n, _ in MIX], [w for _, w in MIX]
    return lambda: MixedCall(signer, rng.choices(names, weights)[0], pool)


__all__ = ["MIX", "PATHS", "ClientPool", "MixedCall", "bench_clients", "mixed_factory", "seed", "loadgen"]
