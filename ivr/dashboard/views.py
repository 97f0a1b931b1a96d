"""The dashboard's pages.  Every POST redirects when it worked (so reloading never repeats it)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Mapping
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from redis.exceptions import RedisError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ivr import passwords
from ivr.contact import client_view, undeliverable
from ivr.contact.models import CorrectionRequestRow
from ivr.contact.touches import by_appointment, reminder_figures, weekly_figures
from ivr.dashboard import auth
from ivr.dashboard.blueprint import bp, format_date, format_time, practice_settings, practice_tz
from ivr.dashboard.forms import (
    LoginForm,
    OwnPasswordForm,
    PasswordResetForm,
    ResolveForm,
    RosterForm,
    StaffCreateForm,
    StaffEditForm,
    choices,
    describe_categories,
    describe_window,
)
from ivr.escalations import audit, drafts, preferences, worklist
from ivr.escalations.audit import Action
from ivr.escalations.models import Role, RosterEntry, StaffUser, TranscriptStatus
from ivr.escalations.roster import covers, on_call
from ivr.exceptions import (
    CallRecordUnreadable,
    ChangeNotFound,
    ConflictChoiceFailed,
    EscalationConflict,
    EscalationForbidden,
    EscalationInvalid,
    EscalationNotFound,
    VoicemailUnplayable,
)
from ivr.practice import calendar_feed, folder_import, journal
from ivr.practice.csv import changes as change_csv
from ivr.practice.csv.cells import format_working_hours, parse_working_hours
from ivr.practice.models import ChangeState, Client, Clinician

log = logging.getLogger(__name__)

_ENDED = {
    "idle": "You were signed out after {minutes} minutes without activity.",
    "expired": "Your session ended. Please sign in again.",
    "deactivated": "Your account has been deactivated. Ask the practice owner if that is a mistake.",
    "password": "Your password was changed. Please sign in with the new one.",
    "logout": "You are signed out.",
}
LOGIN_FAILED = ("That email and password do not match. After {max} failed tries an account is locked "
                "for {lock} minutes; an owner can unlock it sooner.")


def _redirect(endpoint: str, **values: Any) -> Any:
    return redirect(url_for(endpoint, **values), 303)


def _safe_next(target: str | None) -> str | None:
    """Only our own pages: never another site (an open redirect would lend phishers our login page)."""
    if target and target.startswith("/staff/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


# --------------------------------------------------------------------------- signing in and out

@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    settings = auth.ql().settings
    if g.user is not None:
        return redirect(_safe_next(request.args.get("next")) or url_for("dashboard.queue_page"), 303)
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.email.data, form.password.data)
        except auth.LoginFailed:
            error = LOGIN_FAILED.format(max=settings.login_max_failures, lock=settings.login_lock_minutes)
            status = 401
        else:
            auth.start_session(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("dashboard.queue_page"), 303)
    elif request.method == "POST":
        error = "Enter your email and password."
        status = 400
    ended = _ENDED.get(request.args.get("ended", ""), "").format(minutes=settings.idle_logout_minutes)
    form.password.data = ""
    return render_template("dashboard/login.html", form=form, error=error, ended=ended), status


@bp.post("/logout")
def logout() -> Any:
    user = g.user
    auth.end_session(None, user.id)
    return _redirect("dashboard.login", ended="logout")


# --------------------------------------------------------------------------- service health

# The app installs the full /health report here (ivr.app): the dashboard layer does not import ivr.health.
HEALTH_DETAILS = "quietline.health_details"


@bp.get("/health")
def health_details() -> Any:
    """The full ``/health`` report for signed-in staff: with the job ids the public one leaves out (JSON)."""
    report, status = current_app.extensions[HEALTH_DETAILS]()
    return report, status


# --------------------------------------------------------------------------- the queue

@bp.get("/")
def queue_page() -> Any:
    view = request.args.get("view", "active")
    if view not in worklist.VIEWS:
        view = "active"
    db = auth.db()
    now = auth.now()
    items = worklist.list_queue(db, now, view=view, user_id=g.user.id)
    return render_template("dashboard/queue.html", items=items, view=view, now=now,
                           counts=worklist.counts(db, g.user.id), title="Queue")


# --------------------------------------------------------------------------- live updates (short polling)

def _ids(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",")[:500] if part.isdigit()]


def _announce_new(it: worklist.QueueItem) -> str:
    """``New urgent: crisis #6, due in 13 min``: what a screen reader says when an escalation arrives."""
    kind = f" ({it.crisis_kind_label})" if it.crisis_kind_label else ""
    return f"New {it.priority_label.lower()}: {it.category_label.lower()}{kind} #{it.id}, {it.time_left}"


def _state(it: worklist.QueueItem) -> str:
    return f"{it.status}:{it.claimed_by or ''}"


def _change_text(it: worklist.QueueItem, now: Any) -> str:
    if it.status == "resolved":
        return f"#{it.id} resolved"
    if it.status == "claimed":
        return f"#{it.id} {worklist.claimed_text(it, g.user.id, now)}"
    return f"#{it.id} is unclaimed"


@bp.get("/live")
def live() -> Any:
    """What an open page polls (every few seconds; it never counts as activity), as JSON.

    Always: ``idle_left`` (seconds to the idle sign-out, by the app's clock) and ``pressing`` (unclaimed
    urgent or high, for the tab title).  With ``view`` (a queue view): the ``counts``, the ``items`` in order
    (each rendered as the queue shows it, with its ``state`` and the words to announce it when ``new`` or
    when its state changed) and, for the ids in ``shown`` that left the view, what became of them (``gone``).
    A session that has ended answers 401 ``{"ended": why}`` instead (blueprint).
    """
    db = auth.db()
    payload: dict[str, Any] = {"idle_left": g.idle_left, "pressing": worklist.unclaimed_pressing(db)}
    view = request.args.get("view")
    if view in worklist.VIEWS:
        now = auth.now()
        items = worklist.list_queue(db, now, view=view, user_id=g.user.id)
        payload["counts"] = worklist.counts(db, g.user.id)
        payload["items"] = [{"id": it.id, "priority": it.priority, "state": _state(it), "new": _announce_new(it),
                             "change": _change_text(it, now),
                             "html": render_template("dashboard/_queue_item.html", it=it, now=now)}
                            for it in items]
        current = {it.id for it in items}
        payload["gone"] = [{"id": it.id, "text": _change_text(it, now)}
                           for it in worklist.states_of(db, [i for i in _ids(request.args.get("shown", ""))
                                                             if i not in current], g.user.id, now)]
    return payload


@bp.get("/e/<int:escalation_id>/live")
def escalation_live(escalation_id: int) -> Any:
    """The detail page's poll: ``idle_left``, ``pressing``, and this escalation's ``state``, ``time_left``,
    ``urgency``, ``status_html`` (its claim area as the page shows it) and ``change`` (words to announce)."""
    db = auth.db()
    now = auth.now()
    states = worklist.states_of(db, [escalation_id], g.user.id, now)
    if not states:
        return {"error": "not found"}, 404
    it = states[0]
    return {"idle_left": g.idle_left, "pressing": worklist.unclaimed_pressing(db), "state": _state(it),
            "time_left": it.time_left if it.status != "resolved" else "", "urgency": it.urgency,
            "change": _change_text(it, now),
            "status_html": render_template("dashboard/_status.html", item=it, now=now)}


@bp.post("/session/keepalive")
def keepalive() -> Any:
    """"Stay signed in", and typing on a page: this request counts as activity (blueprint); JSON ``idle_left``."""
    return {"idle_left": g.idle_left}


def _detail_page(escalation_id: int, *, client: worklist.ClientDetails | None = None, form: ResolveForm | None = None,
                 error: str | None = None, status: int = 200, audit_view: bool = True,
                 number: str | None = None, voicemail: worklist.Voicemail | None = None,
                 locked_client: worklist.ClientDetails | None = None,
                 callback: Mapping[str, str] | None = None) -> Any:
    try:
        store = auth.ql().flows
        detail = worklist.detail(auth.db(), escalation_id, auth.now(),
                                 user_id=g.user.id if audit_view else None, ip=auth.client_ip(),
                                 flows=store.current().flows if store.loaded else None)
    except EscalationNotFound:
        abort(404)
    item = detail.item
    can_resolve = item.status == "claimed" and (item.claimed_by == g.user.id or g.user.is_owner)
    locks = worklist.verification_locks(auth.db(), escalation_id, auth.now())
    draft = None
    if form is None:
        form = ResolveForm()
        if can_resolve:
            draft = drafts.get(auth.db(), g.user.id, escalation_id)
            if draft is not None:
                form.outcome.data, form.preset.data = draft.text, draft.preset or ""
    # The escalations before and after this one in the active queue: the j/k shortcuts go there.
    order = [it.id for it in worklist.list_queue(auth.db(), auth.now(), view="active", user_id=g.user.id)]
    at = order.index(escalation_id) if escalation_id in order else None
    neighbours = (url_for("dashboard.escalation", escalation_id=order[at - 1]) if at else None,
                  url_for("dashboard.escalation", escalation_id=order[at + 1])
                  if at is not None and at + 1 < len(order) else None)
    title = f"#{item.id} {item.category_label}"
    if error:
        title = f"Not done: {error} · {title}"
    elif voicemail is not None:
        title = f"Voicemail opened · {title}"
    elif client is not None or locked_client is not None:
        title = f"Client details shown · {title}"
    elif number is not None:
        title = f"Number shown · {title}"
    elif callback is not None:
        title = f"Callback details shown · {title}"
    # A copy this server's key cannot open (a rotation the service has not caught up with) is neither played nor
    # described from an old transcript: the page says why, and only that (break test s24, nit 1).
    # Per message of the call (a caller may leave several: each is listed, each reaches staff).
    files = auth.ql().recording_files
    key_refused = {m.sid for m in detail.messages
                   if m.recording is not None and not m.recording.purged_at
                   and (m.recording.transcript_status == "key_failed" or files.key_refuses_audio(detail.call_sid,
                                                                                                   m.sid))}
    return render_template("dashboard/detail.html", d=detail, item=item, client=client, number=number,
                           key_refused=key_refused,
                           voicemail=voicemail, form=form, can_resolve=can_resolve, error=error,
                           locks=locks, locked_client=locked_client, callback=callback, draft=draft, now=auth.now(),
                           neighbours=neighbours, unreadable_text=worklist.UNREADABLE_TEXT,
                           presets=[(k, worklist.PRESET_LABELS[k], t) for k, t in worklist.OUTCOME_PRESETS.items()],
                           title=title), status


@bp.get("/e/<int:escalation_id>")
def escalation(escalation_id: int) -> Any:
    return _detail_page(escalation_id)


@bp.post("/e/<int:escalation_id>/claim")
def claim(escalation_id: int) -> Any:
    try:
        worklist.claim(auth.db(), escalation_id, g.user.id, auth.now(), auth.client_ip())
    except EscalationNotFound:
        abort(404)
    except EscalationConflict as exc:
        # 409 with the page as it is now: the person sees at once who has it.
        return _detail_page(escalation_id, error=str(exc), status=409)
    flash(f"Claimed #{escalation_id}: it is yours now.", "ok")
    return _redirect("dashboard.escalation", escalation_id=escalation_id)


@bp.post("/e/<int:escalation_id>/resolve")
def resolve(escalation_id: int) -> Any:
    form = ResolveForm()
    if not form.validate():
        return _detail_page(escalation_id, form=form, error="Please fix the outcome.", status=400)
    try:
        worklist.resolve(auth.db(), escalation_id, g.user.id, form.outcome.data or "", auth.now(),
                         is_owner=g.user.is_owner, ip=auth.client_ip(), preset=form.preset.data or None)
    except EscalationNotFound:
        abort(404)
    except EscalationInvalid as exc:
        form.outcome.errors = [str(exc)]
        return _detail_page(escalation_id, form=form, error=str(exc), status=400)
    except EscalationForbidden as exc:
        return _detail_page(escalation_id, error=str(exc), status=403)
    except EscalationConflict as exc:
        return _detail_page(escalation_id, error=str(exc), status=409)
    flash(f"Resolved #{escalation_id}.", "ok")
    return _redirect("dashboard.queue_page")


@bp.route("/e/<int:escalation_id>/client", methods=["GET", "POST"])
def client_details(escalation_id: int) -> Any:
    """Client details, shown only in answer to the deliberate POST (audited); a GET goes back to the call."""
    if request.method == "GET":
        return _redirect("dashboard.escalation", escalation_id=escalation_id)
    try:
        details = worklist.client_details(auth.db(), escalation_id, g.user.id, auth.now(), auth.client_ip())
    except EscalationNotFound as exc:
        return _detail_page(escalation_id, error=str(exc), status=404)
    # Rendered here, not redirected to: the details never sit behind a URL that could be bookmarked or shared.
    # This view is already recorded as view_client.
    return _detail_page(escalation_id, client=details, audit_view=False)


@bp.route("/e/<int:escalation_id>/number", methods=["GET", "POST"])
def caller_number(escalation_id: int) -> Any:
    """The calling number, for a callback, shown only in answer to the deliberate POST (audited)."""
    if request.method == "GET":
        return _redirect("dashboard.escalation", escalation_id=escalation_id)
    try:
        number = worklist.caller_number(auth.db(), escalation_id, g.user.id, auth.now(), auth.client_ip())
    except EscalationNotFound as exc:
        return _detail_page(escalation_id, error=str(exc), status=404)
    return _detail_page(escalation_id, number=number, audit_view=False)


@bp.route("/e/<int:escalation_id>/callback-details", methods=["GET", "POST"])
def callback_details(escalation_id: int) -> Any:
    """A new client's first name and best time, shown only in answer to the deliberate POST (audited)."""
    if request.method == "GET":
        return _redirect("dashboard.escalation", escalation_id=escalation_id)
    try:
        details = worklist.callback_details(auth.db(), escalation_id, g.user.id, auth.now(), auth.client_ip())
    except EscalationNotFound as exc:
        return _detail_page(escalation_id, error=str(exc), status=404)
    return _detail_page(escalation_id, callback=details, audit_view=False)


@bp.route("/e/<int:escalation_id>/locked/<client_id>", methods=["GET", "POST"])
def locked_client(escalation_id: int, client_id: str) -> Any:
    """The details of a client whose verification this call locked (audited), to call them back."""
    if request.method == "GET":
        return _redirect("dashboard.escalation", escalation_id=escalation_id)
    try:
        details = worklist.locked_client_details(auth.db(), escalation_id, client_id, g.user.id, auth.now(),
                                              auth.client_ip())
    except EscalationNotFound as exc:
        return _detail_page(escalation_id, error=str(exc), status=404)
    return _detail_page(escalation_id, locked_client=details, audit_view=False)


@bp.post("/e/<int:escalation_id>/verification/clear")
def clear_verification(escalation_id: int) -> Any:
    """Staff confirmed who the client is themselves: lift the verification lock (audited)."""
    subject = request.form.get("subject", "")
    try:
        was_locked = worklist.clear_verification_lock(auth.db(), escalation_id, subject, g.user.id, auth.now(),
                                                   auth.client_ip())
    except EscalationNotFound as exc:
        return _detail_page(escalation_id, error=str(exc), status=404)
    flash("Lock cleared: they can verify by phone again." if was_locked
          else "That lock had already ended; failures before now no longer count.", "ok")
    return _redirect("dashboard.escalation", escalation_id=escalation_id)


@bp.post("/e/<int:escalation_id>/draft")
def save_draft(escalation_id: int) -> Any:
    """Keep the Outcome box as typed (the page sends it a moment after each change, and before signing out).

    JSON ``{"saved": "Draft saved today 10:02"}`` (empty once the box is empty and the draft deleted);
    400/404/409 ``{"error": …}``.  Saving counts as activity, as typing should.
    """
    preset = request.form.get("preset") or None
    try:
        kept = drafts.save(auth.db(), g.user.id, escalation_id, request.form.get("outcome", ""), auth.now(),
                           preset=preset)
    except EscalationNotFound as exc:
        return {"error": str(exc)}, 404
    except EscalationInvalid as exc:
        return {"error": str(exc)}, 400
    except EscalationConflict as exc:
        return {"error": str(exc)}, 409
    return {"saved": f"Draft saved {format_time(kept.updated_at, practice_tz())}" if kept else ""}


# Opening a voicemail lets this browser session fetch its audio for a while (the player
# asks for it by GET, in ranges); the audit log has the deliberate opening.
VOICEMAIL_GRANT_SECONDS = 15 * 60
_GRANTS = "voicemail_grants"


def _grant_key(escalation_id: int, recording_sid: str | None) -> str:
    """One grant per message opened: the escalation's own (no ``recording`` asked for), or one of the call's."""
    return f"{escalation_id}/{recording_sid}" if recording_sid else str(escalation_id)


def _grant_voicemail(escalation_id: int, recording_sid: str | None) -> None:
    now = auth.now().timestamp()
    grants = {k: v for k, v in session.get(_GRANTS, {}).items() if v > now}
    grants[_grant_key(escalation_id, recording_sid)] = now + VOICEMAIL_GRANT_SECONDS
    session[_GRANTS] = grants


def _voicemail_granted(escalation_id: int, recording_sid: str | None) -> bool:
    return session.get(_GRANTS, {}).get(_grant_key(escalation_id, recording_sid), 0) > auth.now().timestamp()


def _recording_asked() -> str | None:
    """The ``recording`` (a recording SID) a form or player URL asks for; None for the escalation's own message."""
    value = (request.form.get("recording") if request.method == "POST" else request.args.get("recording")) or ""
    return value.strip()[:64] or None


@bp.route("/e/<int:escalation_id>/voicemail", methods=["GET", "POST"])
def voicemail(escalation_id: int) -> Any:
    """A message of the call (player and transcript), shown only in answer to the deliberate POST (audited);
    the form's ``recording`` says which when the caller left several."""
    if request.method == "GET":
        return _redirect("dashboard.escalation", escalation_id=escalation_id)
    asked = _recording_asked()
    try:
        message = worklist.voicemail(auth.db(), escalation_id, auth.ql().recording_files,
                                  user_id=g.user.id, now=auth.now(), ip=auth.client_ip(), recording_sid=asked)
    except VoicemailUnplayable as exc:
        # The escalation is there; its message cannot be played (a bad copy, a key that does not open it): the
        # page says why, as a page, not as a missing one (break test s24, nit 1).
        return _detail_page(escalation_id, error=str(exc))
    except EscalationNotFound as exc:
        return _detail_page(escalation_id, error=str(exc), status=404)
    _grant_voicemail(escalation_id, asked)
    if message.transcript is None and message.transcript_status == TranscriptStatus.NO_MODEL.value:
        # Left by a speech worker without a model, and perhaps queued again since by one with a model: then it is
        # being made, not "no speech model is installed" (issue 13 left-over).
        message = dataclasses.replace(message, model_queued=_transcribing_with_model(message.recording_sid))
    return _detail_page(escalation_id, voicemail=message, audit_view=False)


def _transcribing_with_model(recording_sid: str) -> bool:
    """Whether a speech worker with a model has the message's transcription queued (RQ's ``speech-model`` queue);
    False when Redis cannot say (the page then says what the row says)."""
    try:
        return auth.ql().jobs.transcribing_with_model(recording_sid)
    except RedisError:
        log.warning("voicemail page: Redis did not say whether %s is queued for a speech model", recording_sid)
        return False


@bp.get("/e/<int:escalation_id>/voicemail.wav")
def voicemail_audio(escalation_id: int) -> Any:
    """The audio itself, for the player on the page that opened it (and only for that session, for a while);
    ``?recording=`` as the opening form asked (one grant per message)."""
    asked = _recording_asked()
    if not _voicemail_granted(escalation_id, asked):
        return render_template("dashboard/error.html", title="Open the voicemail first",
                               message="Go to the call and choose \u201cPlay voicemail\u201d."), 403
    try:
        # Decrypted in memory for this response only: the clear audio never touches the disk.
        audio = worklist.voicemail_audio(auth.db(), escalation_id, auth.ql().recording_files, asked)
    except EscalationNotFound:
        abort(404)
    return send_file(io.BytesIO(audio), mimetype="audio/wav", conditional=True, max_age=0,
                     download_name=f"voicemail-{escalation_id}.wav")


# --------------------------------------------------------------------------- own account

@bp.route("/account", methods=["GET", "POST"])
def account() -> Any:
    form = OwnPasswordForm()
    form.user_inputs = [g.user.email, g.user.name]
    if form.validate_on_submit():
        with auth.db().sessions() as s:
            user = s.get(StaffUser, g.user.id)
        if user is None or not passwords.verify_password(user.password_hash, form.current.data):
            form.current.errors = ["That is not your current password."]
        else:
            new_hash = passwords.hash_password(form.password.data)
            with auth.db().sessions() as s, s.begin():
                s.get(StaffUser, g.user.id).password_hash = new_hash
                audit.record(s, g.user.id, Action.PASSWORD_CHANGE, f"staff:{g.user.id}", None, auth.client_ip(),
                             at=auth.now())
            auth.refresh_fingerprint(g.user.id, new_hash)
            flash("Your password is changed. Your other signed-in devices are signed out.", "ok")
            return _redirect("dashboard.account")
    return render_template("dashboard/account.html", form=form, title="Your account",
                           min_length=passwords.MIN_LENGTH)


@bp.post("/preferences")
def save_preferences() -> Any:
    """The signed-in person's own settings: a sound for new urgent escalations, keyboard shortcuts."""
    prefs = preferences.Preferences(sound_urgent=request.form.get("sound_urgent") == "on",
                                    shortcuts=request.form.get("shortcuts") == "on")
    preferences.save(auth.db(), g.user.id, prefs)
    flash("Settings saved: sound for new urgent escalations {}, keyboard shortcuts {}.".format(
        "on" if prefs.sound_urgent else "off", "on" if prefs.shortcuts else "off"), "ok")
    return _redirect("dashboard.account")


# --------------------------------------------------------------------------- owners: audit log

@bp.get("/audit")
@auth.owner_required
def audit_log() -> Any:
    page = request.args.get("page", 1, type=int) or 1
    action = request.args.get("action") or None
    if action not in audit.actions():
        action = None
    user_id = request.args.get("user", type=int)
    result = audit.entries(auth.db(), page=page, per_page=50, action=action, user_id=user_id)
    with auth.db().sessions() as s:
        users = s.execute(select(StaffUser.id, StaffUser.name).order_by(StaffUser.name)).all()
    return render_template("dashboard/audit.html", page=result, action=action, user_id=user_id,
                           actions=audit.actions(), users=users, title="Audit log")


# --------------------------------------------------------------------------- owners: staff accounts

def _active_owner_count(session: Any) -> int:
    return session.scalar(select(func.count(StaffUser.id)).where(
        StaffUser.role == Role.OWNER.value, StaffUser.active.is_(True))) or 0


def _phone_region() -> str:
    """National numbers typed by owners are read in the practice's region (practice.yaml)."""
    practice = practice_settings()
    return practice.phone_region if practice is not None else "US"


def _email_taken(session: Any, email: str, except_id: int | None = None) -> bool:
    query = select(StaffUser.id).where(func.lower(StaffUser.email) == email)
    if except_id is not None:
        query = query.where(StaffUser.id != except_id)
    return session.scalar(query) is not None


@bp.route("/users", methods=["GET", "POST"])
@auth.owner_required
def users() -> Any:
    form = StaffCreateForm()
    form.region = _phone_region()
    if form.validate_on_submit():
        email = auth.normalise_email(form.email.data)
        user = StaffUser(email=email, name=form.name.data.strip(), phone=form.phone.data, role=form.role.data,
                         password_hash=passwords.hash_password(form.password.data), active=True,
                         created_at=auth.now())
        with auth.db().sessions() as s:
            taken = _email_taken(s, email)
        if not taken:
            try:
                with auth.db().sessions() as s, s.begin():
                    s.add(user)
                    s.flush()
                    audit.record(s, g.user.id, Action.STAFF_CREATE, f"staff:{user.id}", f"role {user.role}",
                                 auth.client_ip(), at=auth.now())
            except IntegrityError:  # added by someone else a moment ago: the unique index says so
                taken = True
        if taken:
            form.email.errors = ["Someone already signs in with that email."]
        else:
            flash(f"Added {user.name}. Give them their first password in person; they can change it "
                  "under Account.", "ok")
            return _redirect("dashboard.users")
    with auth.db().sessions() as s:
        staff = s.scalars(select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.name)).all()
    return render_template("dashboard/users.html", staff=staff, form=form, now=auth.now(), title="Staff")


def _get_user(user_id: int) -> StaffUser:
    with auth.db().sessions() as s:
        user = s.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@auth.owner_required
def user_edit(user_id: int) -> Any:
    user = _get_user(user_id)
    form = StaffEditForm(obj=user)
    form.region = _phone_region()
    if form.validate_on_submit():
        email = auth.normalise_email(form.email.data)
        with auth.db().sessions() as s, s.begin():
            target = s.get(StaffUser, user_id)
            if _email_taken(s, email, except_id=user_id):
                form.email.errors = ["Someone else already signs in with that email."]
            elif (target.role == Role.OWNER.value and form.role.data != Role.OWNER.value and target.active
                  and _active_owner_count(s) <= 1):
                form.role.errors = ["The practice needs at least one active owner."]
            else:
                changes = [f"{name} changed" for name, old, new in (
                    ("name", target.name, form.name.data.strip()), ("email", target.email, email),
                    ("phone", target.phone, form.phone.data)) if old != new]
                if target.role != form.role.data:
                    changes.append(f"role {target.role}→{form.role.data}")
                target.name, target.email, target.phone = form.name.data.strip(), email, form.phone.data
                target.role = form.role.data
                if changes:
                    audit.record(s, g.user.id, Action.STAFF_UPDATE, f"staff:{user_id}", "; ".join(changes),
                                 auth.client_ip(), at=auth.now())
        if not (form.email.errors or form.role.errors):
            flash(f"Saved {form.name.data.strip()}.", "ok")
            return _redirect("dashboard.user_edit", user_id=user_id)
    return render_template("dashboard/user_edit.html", target=user, form=form, reset=PasswordResetForm(),
                           locked=user.locked_until is not None and user.locked_until > auth.now(),
                           title=f"Staff: {user.name}")


@bp.post("/users/<int:user_id>/active")
@auth.owner_required
def user_active(user_id: int) -> Any:
    """Deactivate (their sessions end at their next request) or reactivate an account."""
    make_active = request.form.get("active") == "1"
    with auth.db().sessions() as s, s.begin():
        target = s.get(StaffUser, user_id)
        if target is None:
            abort(404)
        if not make_active and target.role == Role.OWNER.value and target.active and _active_owner_count(s) <= 1:
            flash("The practice needs at least one active owner: make someone else an owner first.", "error")
            return _redirect("dashboard.user_edit", user_id=user_id)
        if target.active != make_active:
            target.active = make_active
            audit.record(s, g.user.id, Action.STAFF_REACTIVATE if make_active else Action.STAFF_DEACTIVATE,
                         f"staff:{user_id}", None, auth.client_ip(), at=auth.now())
        name = target.name
    flash(f"{name} can sign in again." if make_active else f"{name} is deactivated and signed out.", "ok")
    return _redirect("dashboard.user_edit", user_id=user_id)


@bp.post("/users/<int:user_id>/password")
@auth.owner_required
def user_password(user_id: int) -> Any:
    """Set a new password for someone who forgot theirs; their sessions end, their lock is lifted."""
    user = _get_user(user_id)
    reset = PasswordResetForm()
    reset.user_inputs = [user.email, user.name]
    if not reset.validate():
        return render_template("dashboard/user_edit.html", target=user, form=StaffEditForm(obj=user), reset=reset,
                               locked=user.locked_until is not None and user.locked_until > auth.now(),
                               title=f"Staff: {user.name}"), 400
    new_hash = passwords.hash_password(reset.password.data)
    with auth.db().sessions() as s, s.begin():
        target = s.get(StaffUser, user_id)
        target.password_hash, target.failed_logins, target.locked_until = new_hash, 0, None
        audit.record(s, g.user.id, Action.STAFF_PASSWORD_RESET, f"staff:{user_id}", None, auth.client_ip(),
                     at=auth.now())
    if user_id == g.user.id:
        auth.refresh_fingerprint(user_id, new_hash)
    flash(f"New password set for {user.name}. Tell them in person, not by text or email.", "ok")
    return _redirect("dashboard.user_edit", user_id=user_id)


@bp.post("/users/<int:user_id>/unlock")
@auth.owner_required
def user_unlock(user_id: int) -> Any:
    with auth.db().sessions() as s, s.begin():
        target = s.get(StaffUser, user_id)
        if target is None:
            abort(404)
        target.failed_logins, target.locked_until = 0, None
        audit.record(s, g.user.id, Action.STAFF_UNLOCK, f"staff:{user_id}", None, auth.client_ip(), at=auth.now())
    flash("Unlocked.", "ok")
    return _redirect("dashboard.user_edit", user_id=user_id)


# --------------------------------------------------------------------------- owners: on-call roster

def _roster_form(entry: RosterEntry | None = None) -> RosterForm:
    form = RosterForm(obj=entry)
    with auth.db().sessions() as s:
        people = s.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.active.is_(True))
                           .order_by(StaffUser.name)).all()
    form.user_id.choices = choices(people)
    return form


def _describe_entry(e: RosterEntry, name: str) -> str:
    channels = "+".join(c for c, on in (("text", e.sms), ("email", e.email)) if on) or "no channel"
    told = f", told about {describe_categories(e.categories)}" if e.categories else ""
    return f"{name}, level {e.level}, {describe_window(e.days, e.start, e.end)}, {channels}{told}"


def _on_call_now() -> list[tuple[int, list[str]]]:
    """Who would be told first at each level right now (the notification worker's rule), and about what."""
    with auth.db().sessions() as s:
        entries = s.scalars(select(RosterEntry)).all()
        staff = s.scalars(select(StaffUser)).all()
    names = {u.id: u.name for u in staff}
    moment = auth.now()
    local = moment.astimezone(practice_tz())

    def told(user_id: int, level: int) -> str:
        limits = [e.categories for e in entries if e.user_id == user_id and e.level == level and covers(e, local)]
        if not limits or any(not c for c in limits):
            return names[user_id]
        return f"{names[user_id]} ({describe_categories(sorted({c for cs in limits for c in cs}))} only)"

    return [(level, [told(r.user_id, level) for r in on_call(entries, staff, level, moment, practice_tz())
                     if r.level == level]) for level in (1, 2, 3)]


@bp.route("/roster", methods=["GET", "POST"])
@auth.owner_required
def roster() -> Any:
    form = _roster_form()
    if form.validate_on_submit():
        with auth.db().sessions() as s, s.begin():
            entry = RosterEntry(user_id=form.user_id.data, level=form.level.data, days=list(form.days.data or []),
                                start=form.start.data, end=form.end.data, sms=form.sms.data, email=form.email.data,
                                categories=list(form.categories.data or []) or None)
            s.add(entry)
            s.flush()
            name = s.get(StaffUser, entry.user_id).name
            audit.record(s, g.user.id, Action.ROSTER_ADD, f"roster:{entry.id}", _describe_entry(entry, name),
                         auth.client_ip(), at=auth.now())
        flash("Added to the roster.", "ok")
        return _redirect("dashboard.roster")
    with auth.db().sessions() as s:
        rows = s.execute(select(RosterEntry, StaffUser.name, StaffUser.active)
                         .join(StaffUser, StaffUser.id == RosterEntry.user_id)
                         .order_by(RosterEntry.level, StaffUser.name, RosterEntry.id)).all()
    entries = [(e, name, active, describe_window(e.days, e.start, e.end), describe_categories(e.categories))
               for e, name, active in rows]
    return render_template("dashboard/roster.html", entries=entries, form=form, on_call=_on_call_now(),
                           title="On-call roster")


@bp.route("/roster/<int:entry_id>", methods=["GET", "POST"])
@auth.owner_required
def roster_edit(entry_id: int) -> Any:
    with auth.db().sessions() as s:
        entry = s.get(RosterEntry, entry_id)
    if entry is None:
        abort(404)
    form = _roster_form(entry)
    if form.validate_on_submit():
        with auth.db().sessions() as s, s.begin():
            row = s.get(RosterEntry, entry_id)
            if row is None:
                abort(404)
            row.user_id, row.level, row.days = form.user_id.data, form.level.data, list(form.days.data or [])
            row.start, row.end, row.sms, row.email = form.start.data, form.end.data, form.sms.data, form.email.data
            row.categories = list(form.categories.data or []) or None
            name = s.get(StaffUser, row.user_id).name
            audit.record(s, g.user.id, Action.ROSTER_UPDATE, f"roster:{entry_id}", _describe_entry(row, name),
                         auth.client_ip(), at=auth.now())
        flash("Roster entry saved.", "ok")
        return _redirect("dashboard.roster")
    return render_template("dashboard/roster_edit.html", entry=entry, form=form, title="Edit roster entry")


@bp.post("/roster/<int:entry_id>/delete")
@auth.owner_required
def roster_delete(entry_id: int) -> Any:
    with auth.db().sessions() as s, s.begin():
        row = s.get(RosterEntry, entry_id)
        if row is None:
            abort(404)
        description = _describe_entry(row, s.get(StaffUser, row.user_id).name)
        s.execute(delete(RosterEntry).where(RosterEntry.id == entry_id))
        audit.record(s, g.user.id, Action.ROSTER_DELETE, f"roster:{entry_id}", description, auth.client_ip(),
                     at=auth.now())
    flash("Removed from the roster.", "ok")
    return _redirect("dashboard.roster")


# --------------------------------------------------------------------------- the change journal

_CHANGE_VIEWS = {"to_enter": (ChangeState.TO_ENTER,), "entered": (ChangeState.ENTERED,), "conflicts": ()}


@bp.get("/changes")
def changes() -> Any:
    """Changes Quietline made that staff still have to enter in the EHR (no client details in the list)."""
    view = request.args.get("view", "to_enter")
    if view not in _CHANGE_VIEWS:
        view = "to_enter"
    with auth.db().sessions() as s:
        rows = journal.entries(s, _CHANGE_VIEWS[view], conflicts=view == "conflicts")
        counts = journal.summary(s)
    return render_template("dashboard/changes.html", rows=rows, view=view, counts=counts,
                           labels=journal.KIND_LABELS, title="Changes")


@bp.route("/changes/<int:change_id>", methods=["GET", "POST"])
def change_detail(change_id: int) -> Any:
    """One entry with its client's name and both versions: shown only in answer to the deliberate POST (audited)."""
    if request.method == "GET":
        return _redirect("dashboard.changes")
    tz = practice_tz()
    with auth.db().sessions() as s, s.begin():
        try:
            entry = journal.get(s, change_id)
        except ChangeNotFound:
            abort(404)
        client = s.get(Client, entry.client_id) if entry.client_id else None
        audit.record(s, g.user.id, Action.VIEW_CHANGE, target=f"change:{change_id}", ip=auth.client_ip(),
                     at=auth.now())
        page = render_template(
            "dashboard/change_detail.html", entry=entry, label=journal.KIND_LABELS.get(entry.kind, entry.kind),
            client_name=f"{client.first_name} {client.last_name}" if client else None,
            before=journal.describe(entry.before, tz), after=journal.describe(entry.after, tz),
            # A slot conflict is about another EHR row: name it (its own conflicts are about this appointment).
            ehr=journal.describe({k: v for k, v in entry.conflict.items()
                                  if k != "appointment_id" or entry.conflict.get("held_by")}, tz)
            if entry.conflict else None, title=f"Change #{change_id}")
    return page


@bp.post("/changes/entered")
def changes_entered() -> Any:
    """Mark the ticked entries (one or many) entered in the EHR (audited)."""
    ids = [int(i) for i in request.form.getlist("change_id") if i.isdigit()]
    with auth.db().sessions() as s, s.begin():
        done = journal.mark_entered(s, ids, g.user.id, auth.now())
        if done:
            audit.record(s, g.user.id, Action.CHANGES_ENTERED, target=f"changes:{len(done)}",
                         detail=",".join(map(str, done)), ip=auth.client_ip(), at=auth.now())
    if done:
        flash(f"Marked {len(done)} change{'s' if len(done) != 1 else ''} entered.", "ok")
    else:
        flash("Nothing was marked: tick the changes you entered.", "error")
    return _redirect("dashboard.changes")


@bp.post("/changes/export.csv")
def changes_export() -> Any:
    """The entries still to enter as CSV (client names included, so the download is audited)."""
    buffer = io.StringIO()
    with auth.db().sessions() as s, s.begin():
        rows = journal.entries(s, (ChangeState.TO_ENTER,), limit=10_000)
        count = change_csv.write_csv(buffer, rows, s, practice_tz())
        audit.record(s, g.user.id, Action.CHANGES_EXPORT, target=f"changes:{count}", ip=auth.client_ip(),
                     at=auth.now())
    name = f"changes-to-enter-{auth.now().astimezone(practice_tz()):%Y-%m-%d}.csv"
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/changes/<int:change_id>/resolve")
def change_resolve(change_id: int) -> Any:
    """Settle an import conflict: keep the phone's version or take the EHR's (audited)."""
    choice = request.form.get("choice", "")
    try:
        with auth.db().sessions() as s, s.begin():
            journal.resolve_conflict(s, change_id, choice, g.user.id, auth.now())
            audit.record(s, g.user.id, Action.CONFLICT_RESOLVE, target=f"change:{change_id}", detail=choice,
                         ip=auth.client_ip(), at=auth.now())
    except ChangeNotFound as exc:
        flash(str(exc), "error")
    except ConflictChoiceFailed as exc:
        flash(str(exc), "error")
    else:
        flash("Kept the phone's version: it stays to enter in the EHR." if choice == "phone"
              else "Took the EHR's version.", "ok")
    return _redirect("dashboard.changes", view="conflicts")


# --------------------------------------------------------------------------- owners: scheduled imports

@bp.get("/imports")
@auth.owner_required
def imports() -> Any:
    """The scheduled folder import's runs: when, which files, what they did, what was wrong."""
    with auth.db().sessions() as s:
        runs = folder_import.recent_runs(s)
    return render_template("dashboard/imports.html", runs=runs, title="Imports",
                           folder=auth.ql().settings.import_dir)


# --------------------------------------------------------------------------- owners: clinicians' hours

@bp.route("/clinicians", methods=["GET", "POST"])
@auth.owner_required
def clinicians() -> Any:
    """Each clinician's weekly working hours and session length (what slots are offered from), editable here.

    The hours are written as in clinicians.csv (``mon-thu 09:00-17:00; fri 09:00-13:00``, practice time)
    and checked by the same parser; a change is audited.  The CSV import remains an option.
    """
    errors: dict[str, str] = {}
    values: dict[str, tuple[str, str]] = {}
    status = 200
    if request.method == "POST":
        clinician_id = request.form.get("clinician_id", "")
        hours_text = request.form.get("working_hours", "").strip()
        minutes_text = request.form.get("session_minutes", "").strip()
        hours, reason = parse_working_hours(hours_text)
        if reason:
            errors["working_hours"] = reason
        if not minutes_text.isdigit() or not 5 <= int(minutes_text) <= 600:
            errors["session_minutes"] = f"session_minutes '{minutes_text}' is not a number of minutes (5 to 600)"
        if not errors:
            with auth.db().sessions() as s, s.begin():
                clinician = s.get(Clinician, clinician_id)
                if clinician is None:
                    abort(404)
                before = (format_working_hours(clinician.working_hours), clinician.session_minutes)
                clinician.working_hours, clinician.session_minutes = hours or {}, int(minutes_text)
                after = (format_working_hours(clinician.working_hours), clinician.session_minutes)
                if before != after:
                    audit.record(s, g.user.id, Action.CLINICIAN_HOURS, target=f"clinician:{clinician_id}",
                                 detail=f"{before[0] or 'no hours'}, {before[1]} min → {after[0] or 'no hours'}, "
                                        f"{after[1]} min", ip=auth.client_ip(), at=auth.now())
            flash(f"Saved the hours of {clinician.name}." if before != after else "Nothing changed.", "ok")
            return _redirect("dashboard.clinicians")
        values[clinician_id] = (hours_text, minutes_text)
        status = 400
    return _clinicians_page(errors=errors, values=values, status=status)


def _clinicians_page(*, errors: dict[str, str] | None = None, values: dict[str, tuple[str, str]] | None = None,
                     status: int = 200, new_feed: tuple[str, str] | None = None) -> Any:
    errors, values = errors or {}, values or {}
    with auth.db().sessions() as s:
        rows = [(c, *values.get(c.id, (format_working_hours(c.working_hours), str(c.session_minutes))))
                for c in s.scalars(select(Clinician).order_by(Clinician.name))]
        feeds: dict[str, list[Any]] = {}
        for f in calendar_feed.active_feeds(s):
            feeds.setdefault(f.clinician_id, []).append(f)
    return render_template("dashboard/clinicians.html", rows=rows, errors=errors, feeds=feeds, new_feed=new_feed,
                           error_for=request.form.get("clinician_id") if errors else None,
                           title="Clinicians"), status


@bp.post("/clinicians/<clinician_id>/feeds")
@auth.owner_required
def calendar_feed_create(clinician_id: str) -> Any:
    """Make a calendar feed link for a clinician; its URL is shown in this answer only (audited)."""
    show_initials = request.form.get("show_initials") == "yes"
    with auth.db().sessions() as s, s.begin():
        if s.get(Clinician, clinician_id) is None:
            abort(404)
        feed, token = calendar_feed.create(s, clinician_id, show_initials=show_initials, user_id=g.user.id,
                                           now=auth.now())
        audit.record(s, g.user.id, Action.CALENDAR_FEED, target=f"clinician:{clinician_id}",
                     detail=f"made feed {feed.id}{' with initials' if show_initials else ''}", ip=auth.client_ip(),
                     at=auth.now())
    url = f"{auth.ql().settings.public_base_url.rstrip('/')}/calendar/{token}.ics"
    # Rendered, not redirected to: the secret URL never sits behind a bookmarkable page.
    return _clinicians_page(new_feed=(clinician_id, url))


@bp.post("/calendar-feeds/<int:feed_id>/revoke")
@auth.owner_required
def calendar_feed_revoke(feed_id: int) -> Any:
    with auth.db().sessions() as s, s.begin():
        if calendar_feed.revoke(s, feed_id, auth.now()):
            audit.record(s, g.user.id, Action.CALENDAR_FEED, target=f"feed:{feed_id}", detail="revoked",
                         ip=auth.client_ip(), at=auth.now())
            flash("Calendar link revoked: calendars subscribed to it stop updating.", "ok")
    return _redirect("dashboard.clinicians")


# --------------------------------------------------------------------------- follow-ups and reminders

_TOUCH_LABELS = {"reminder": "Reminder", "follow_up": "Follow-up", "moved": "Correction of a moved time"}


@bp.get("/outbound")
def outbound() -> Any:
    """Per appointment: the reminders and follow-ups planned, sent, delivered, confirmed, skipped (and why).
    Ids only: no names or numbers in the list."""
    now = auth.ql().clock()
    with auth.db().sessions() as s:
        groups = by_appointment(s)
        week = reminder_figures(s, now - dt.timedelta(days=7), now)
        tz = practice_tz()
        # Each week as the practice's dates, first and last day (the end instant itself is the next week's).
        weeks = [(format_date(w.start.astimezone(tz).date()),
                  format_date((w.end - dt.timedelta(microseconds=1)).astimezone(tz).date()), w.figures)
                 for w in weekly_figures(s, now)]
    return render_template("dashboard/outbound.html", groups=groups, labels=_TOUCH_LABELS, week=week, weeks=weeks,
                           title="Follow-ups and reminders")


@bp.post("/outbound/correction")
def outbound_correction() -> Any:
    """Ask for a correction call to a client (the ``correction`` follow-up), optionally about an appointment."""
    client_id = (request.form.get("client_id") or "").strip()[:64]
    appointment_id = (request.form.get("appointment_id") or "").strip()[:64] or None
    ql = auth.ql()
    back = request.form.get("back") == "client"
    with auth.db().sessions() as s, s.begin():
        if not client_id or s.get(Client, client_id) is None:
            flash("No such client.", "error")
            return _redirect("dashboard.outbound")
        s.add(CorrectionRequestRow(client_id=client_id, appointment_id=appointment_id, raised_by=g.user.id,
                                   raised_at=ql.clock()))
        audit.record(s, g.user.id, Action.CORRECTION_CALL, target=client_id, detail=appointment_id,
                     ip=request.remote_addr, at=ql.clock())
    ql.outbound.plan_soon()
    flash("A correction call is planned.", "ok")
    if back:
        return _redirect("dashboard.outbound_client", client_id=client_id)
    return _redirect("dashboard.outbound")


def _client_page(client_id: str, opened: tuple[int, str] | None = None) -> Any:
    ql = auth.ql()
    with auth.db().sessions() as s:
        view = client_view.client_outbound(s, ql.outbound.hasher, client_id)
        arriving = client_view.arriving(s, client_id, ql.clock())
    if view is None:
        abort(404)
    return render_template("dashboard/outbound_client.html", view=view, labels=_TOUCH_LABELS, opened=opened,
                           arriving=arriving, title=f"Follow-ups of client {client_id}")


@bp.post("/outbound/clients/<client_id>/checked-in")
def outbound_checked_in(client_id: str) -> Any:
    """Staff mark the client here (in the waiting room or the video call) for one of today's appointments: a
    check-in, so no "late" follow-up goes (audited ``checked_in``)."""
    ql = auth.ql()
    appointment_id = (request.form.get("appointment_id") or "").strip()[:64]
    now = ql.clock()
    with auth.db().sessions() as s, s.begin():
        if not client_view.check_in(s, client_id, appointment_id, now):
            flash("That appointment is not one of this client's today.", "error")
            return _redirect("dashboard.outbound_client", client_id=client_id)
        audit.record(s, g.user.id, Action.CHECKED_IN, target=f"client:{client_id}", detail=appointment_id,
                     ip=auth.client_ip(), at=now)
    flash("Checked in: no late follow-up will go for this appointment.", "ok")
    return _redirect("dashboard.outbound_client", client_id=client_id)


@bp.get("/outbound/clients/<client_id>")
def outbound_client(client_id: str) -> Any:
    """One client's follow-ups and reminders: status, touches per appointment (answered by, duration, words
    version), undeliverable flags, opt-outs, replies (words closed) and the correction-call button.  Ids only."""
    return _client_page(client_id)


@bp.post("/outbound/clients/<client_id>/replies/<int:reply_id>/read")
def outbound_read_reply(client_id: str, reply_id: int) -> Any:
    """Open a reply's words (a deliberate POST, audited ``read_reply``); rendered, never redirected to."""
    ql = auth.ql()
    with auth.db().sessions() as s, s.begin():
        try:
            words = client_view.open_reply(s, ql.outbound.cipher, client_id, reply_id)
        except CallRecordUnreadable:
            words = None
            flash("Those words cannot be opened with the data keys configured.", "error")
        if words is None:
            return _redirect("dashboard.outbound_client", client_id=client_id)
        audit.record(s, g.user.id, Action.READ_REPLY, target=f"reply:{reply_id}", detail=f"client {client_id}",
                     ip=auth.client_ip(), at=auth.now())
    return _client_page(client_id, opened=(reply_id, words))


@bp.post("/outbound/clients/<client_id>/flags/<int:flag_id>/lift")
def outbound_lift_flag(client_id: str, flag_id: int) -> Any:
    """Lift a number's undeliverable flag (audited ``lift_undeliverable``); the planner may use it again."""
    ql = auth.ql()
    with auth.db().sessions() as s, s.begin():
        numbers = client_view.numbers_of(s, client_id)
        row = undeliverable.lift(s, flag_id, numbers, ql.outbound.hasher, g.user.id, auth.now())
        if row is None:
            flash("That flag is already lifted or is not on this client's numbers.", "error")
            return _redirect("dashboard.outbound_client", client_id=client_id)
        audit.record(s, g.user.id, Action.LIFT_UNDELIVERABLE, target=f"client:{client_id}",
                     detail=f"flag {flag_id} ({row.channel}, code {row.error_code})", ip=auth.client_ip(),
                     at=auth.now())
    ql.outbound.plan_soon()
    flash("The flag is lifted: the number may be used again.", "ok")
    return _redirect("dashboard.outbound_client", client_id=client_id)
