"""The dashboard's pages.  Every POST redirects when it worked (so reloading never repeats it)."""
from __future__ import annotations

from typing import Any

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ivr import passwords
from ivr.dashboard import auth
from ivr.dashboard.blueprint import bp, practice_settings, practice_tz
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
from ivr.escalations import audit, worklist
from ivr.escalations.audit import Action
from ivr.escalations.models import Role, RosterEntry, StaffUser
from ivr.escalations.roster import covers, on_call
from ivr.exceptions import EscalationConflict, EscalationForbidden, EscalationInvalid, EscalationNotFound

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


# --------------------------------------------------------------------------- the queue

@bp.get("/")
def queue_page() -> Any:
    view = request.args.get("view", "active")
    if view not in worklist.VIEWS:
        view = "active"
    db = auth.db()
    items = worklist.list_queue(db, auth.now(), view=view, user_id=g.user.id)
    return render_template("dashboard/queue.html", items=items, view=view,
                           counts=worklist.counts(db, g.user.id), title="Queue")


def _detail_page(escalation_id: int, *, client: worklist.ClientDetails | None = None, form: ResolveForm | None = None,
                 error: str | None = None, status: int = 200, audit_view: bool = True,
                 number: str | None = None, voicemail: worklist.Voicemail | None = None,
                 locked_client: worklist.ClientDetails | None = None) -> Any:
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
    return render_template("dashboard/detail.html", d=detail, item=item, client=client, number=number,
                           voicemail=voicemail, form=form or ResolveForm(), can_resolve=can_resolve, error=error,
                           locks=locks, locked_client=locked_client,
                           title=f"#{item.id} {item.category_label}"), status


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
    flash("Claimed: it is yours now.", "ok")
    return _redirect("dashboard.escalation", escalation_id=escalation_id)


@bp.post("/e/<int:escalation_id>/resolve")
def resolve(escalation_id: int) -> Any:
    form = ResolveForm()
    if not form.validate():
        return _detail_page(escalation_id, form=form, error="Please fix the outcome.", status=400)
    try:
        worklist.resolve(auth.db(), escalation_id, g.user.id, form.outcome.data or "", auth.now(),
                      is_owner=g.user.is_owner, ip=auth.client_ip())
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


# Opening a voicemail lets this browser session fetch its audio for a while (the player
# asks for it by GET, in ranges); the audit log has the deliberate opening.
VOICEMAIL_GRANT_SECONDS = 15 * 60
_GRANTS = "voicemail_grants"


def _grant_voicemail(escalation_id: int) -> None:
    now = auth.now().timestamp()
    grants = {k: v for k, v in session.get(_GRANTS, {}).items() if v > now}
    grants[str(escalation_id)] = now + VOICEMAIL_GRANT_SECONDS
    session[_GRANTS] = grants


def _voicemail_granted(escalation_id: int) -> bool:
    return session.get(_GRANTS, {}).get(str(escalation_id), 0) > auth.now().timestamp()


@bp.route("/e/<int:escalation_id>/voicemail", methods=["GET", "POST"])
def voicemail(escalation_id: int) -> Any:
    """The caller's message (player and transcript), shown only in answer to the deliberate POST (audited)."""
    if request.method == "GET":
        return _redirect("dashboard.escalation", escalation_id=escalation_id)
    try:
        message = worklist.voicemail(auth.db(), escalation_id, auth.ql().settings.recordings_dir,
                                  user_id=g.user.id, now=auth.now(), ip=auth.client_ip())
    except EscalationNotFound as exc:
        return _detail_page(escalation_id, error=str(exc), status=404)
    _grant_voicemail(escalation_id)
    return _detail_page(escalation_id, voicemail=message, audit_view=False)


@bp.get("/e/<int:escalation_id>/voicemail.wav")
def voicemail_audio(escalation_id: int) -> Any:
    """The audio itself, for the player on the page that opened it (and only for that session, for a while)."""
    if not _voicemail_granted(escalation_id):
        return render_template("dashboard/error.html", title="Open the voicemail first",
                               message="Go to the call and choose \u201cPlay voicemail\u201d."), 403
    try:
        audio = worklist.voicemail_audio(auth.db(), escalation_id, auth.ql().settings.recordings_dir)
    except EscalationNotFound:
        abort(404)
    return send_file(audio, mimetype="audio/wav", conditional=True, max_age=0,
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
