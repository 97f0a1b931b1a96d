"""Issues 13/14, break test bt14-s27 SHOULD-FIX 2: a caller who leaves several messages in one call (a message, then
9 or 0 during it, then another after the crisis or operator leg) has every one of them reach staff: listed on the
escalation's page, each playable, each transcribed and triaged, a crisis in any of them raising the call's one
escalation to an urgent crisis that pages the on-call, whatever order Twilio's recording callbacks come in.

Real Redis and RQ workers (RQ's scheduler on the test clock), the real database, the Twilio stand-in, signed
webhooks as Twilio sends them.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from ivr.dev.simulator import tone_wav
from tests.helpers.dashboard import audit_rows
from tests.helpers.dashboard import post as staff_post
from tests.helpers.escalations import (
    ALEX,
    RECORDING_STATUS,
    Holding,
    front_desk,
    of_call,
    recording_rows,
    simulator,
    texts,
)
from tests.helpers.service import ACCOUNT
from tests.helpers.webhooks import post

ON_CALL = "+15550100123"  # the demo crisis on-call clinician (ivr/escalations/demo.py)
CRISIS_ALERT = "The transcript reads as a crisis: listen now and call back at once."
ORDERS = ("in call order", "reversed")


def words_of(app, call_sid: str, recording_sid: str, words: str) -> None:
    """The transcript the speech worker writes (sealed): English words cannot come from the Korean model the tests
    have; everything after transcription (triage, escalation, pages) runs for real."""
    from ivr.escalations.recording_files import StoredTranscript

    app.extensions["quietline"].recording_files.write_transcript(
        call_sid, recording_sid, StoredTranscript(words, 0.9, tuple((w, 0.9) for w in words.split())))


def two_message_call(client, standin, jobs, script: str, order: str,
                     words: tuple[str, str] | None = None, app=None) -> tuple[str, list[str], list[int]]:
    """Alex calls and follows ``script`` (two messages); Twilio's two recording-status callbacks are held and
    delivered in ``order``, every job running after each. Returns (call SID, recording SIDs in call order, their
    lengths in seconds as Twilio gave them)."""
    transport = Holding(client, hold=(RECORDING_STATUS,))
    result = simulator(transport, standin).call(from_=ALEX, script=script)
    held = [params for _, params, _ in transport.held_all]
    sids = [p["RecordingSid"] for p in held]
    assert len(sids) == 2 and len(set(sids)) == 2
    if words is not None:
        for sid, said in zip(sids, words, strict=True):
            words_of(app, result.call_sid, sid, said)
    jobs.run()  # the call's own escalation (and its page, for a crisis) before any message is heard of
    for index in (range(2) if order == "in call order" else reversed(range(2))):
        assert transport.deliver_held(index)[0] == 200
        jobs.run()
    return result.call_sid, sids, [int(p["RecordingDuration"]) for p in held]


def cards(page: str) -> list[str]:
    """The page's voicemail cards, in order."""
    return re.findall(r'<section class="card voicemail">(.*?)</section>', page, re.S)


def urgent_pages(standin, escalation_id: int) -> list[tuple[str, str]]:
    return [(to, body) for to, body in texts(standin) if body.startswith(f"URGENT call #{escalation_id}:")]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("script", ["0;record:5:9", "0;record:5:0"])
def test_every_message_of_a_call_is_listed_and_playable(script, order, app, client, database, jobs, standin, staff):
    """Two messages, one escalation: its page lists both ("Voicemail 1 of 2", "2 of 2"), each opens (audited,
    naming which) and plays its own audio; opening one grants no other."""
    call_sid, sids, seconds = two_message_call(client, standin, jobs, script, order)
    [esc] = of_call(database, call_sid)
    assert sorted(recording_rows(database)) == sorted((call_sid, sid, "fetched") for sid in sids)
    desk = front_desk(app, staff)
    page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
    listed = cards(page)
    assert [c.split("</h2>")[0].strip() for c in listed] == ["<h2>Voicemail 1 of 2", "<h2>Voicemail 2 of 2"]
    shown = [re.search(r'name="recording" value="(RE\w+)"', c).group(1) for c in listed]
    assert sorted(shown) == sorted(sids)
    assert page.count("Play voicemail") == 2
    for number, sid in enumerate(shown, start=1):
        assert desk.get(f"/staff/e/{esc.id}/voicemail.wav?recording={sid}").status_code == 403  # not opened yet
        opened = staff_post(desk, f"/staff/e/{esc.id}/voicemail", {"recording": sid}, token_from=f"/staff/e/{esc.id}")
        html = opened.get_data(as_text=True)
        assert opened.status_code == 200
        assert (f'aria-label="Voicemail for #{esc.id} (message {number} of 2), 0:0{seconds[sids.index(sid)]}" '
                f'src="/staff/e/{esc.id}/voicemail.wav?recording={sid}"></audio>') in html
        assert html.count("<audio") == 1 and html.count("Play voicemail") == 1  # the other is still a button
        assert desk.get(f"/staff/e/{esc.id}/voicemail.wav?recording={sid}").data == tone_wav(seconds[sids.index(sid)])
    listened = audit_rows(database, "listen_voicemail")
    assert [(a.target, a.detail) for a in listened] == [
        (f"escalation:{esc.id}", f"message {n} of 2 ({sid})") for n, sid in enumerate(shown, start=1)]
    # A recording of another call is never served through this escalation.
    assert staff_post(desk, f"/staff/e/{esc.id}/voicemail", {"recording": "RE" + "0" * 32},
                      token_from=f"/staff/e/{esc.id}").status_code == 404


@pytest.mark.parametrize("order", ORDERS)
def test_a_crisis_in_the_second_message_raises_the_call_to_an_urgent_crisis_and_pages_once(
        order, app, client, database, jobs, standin, staff):
    """``0;record:5:0``: a callback message, 0 for the operator, nobody free, a second message that reads as a
    crisis: the call's one escalation becomes an urgent crisis (due in 15 minutes), the crisis on-call is paged
    once, and the page marks the second message as the crisis."""
    call_sid, sids, _ = two_message_call(
        client, standin, jobs, "0;record:5:0", order, app=app,
        words=("hi its me please call me back about my appointment", "i dont want to live anymore"))
    [esc] = of_call(database, call_sid)
    assert (esc.category, esc.priority) == ("crisis", 0)
    assert esc.deadline_at == jobs.clock.now + dt.timedelta(minutes=15)
    assert {"voicemail_crisis", "raised_to_crisis"} <= set(esc.timeline)
    assert [to for to, _ in urgent_pages(standin, esc.id)].count(ON_CALL) == 1
    page = front_desk(app, staff).get(f"/staff/e/{esc.id}").get_data(as_text=True)
    by_sid = {re.search(r'name="recording" value="(RE\w+)"', c).group(1): c for c in cards(page)}
    assert CRISIS_ALERT in by_sid[sids[1]] and CRISIS_ALERT not in by_sid[sids[0]]
    assert "About: <strong>" in by_sid[sids[0]]  # the first message was triaged too


@pytest.mark.parametrize("order", ORDERS)
def test_a_crisis_message_after_pressing_9_is_marked_on_its_own_card(order, app, client, database, jobs, standin,
                                                                     staff):
    """``0;record:5:9``: a message, 9 during it, the crisis leg unanswered, a crisis message: one urgent crisis
    escalation, paged once (no second page for the message), its page marking the second message."""
    call_sid, sids, _ = two_message_call(
        client, standin, jobs, "0;record:5:9", order, app=app,
        words=("hi please call me back", "i want to kill myself"))
    [esc] = of_call(database, call_sid)
    assert (esc.reason, esc.category, esc.priority) == ("crisis", "crisis", 0)
    assert [to for to, _ in urgent_pages(standin, esc.id)].count(ON_CALL) == 1
    page = front_desk(app, staff).get(f"/staff/e/{esc.id}").get_data(as_text=True)
    by_sid = {re.search(r'name="recording" value="(RE\w+)"', c).group(1): c for c in cards(page)}
    assert CRISIS_ALERT in by_sid[sids[1]] and CRISIS_ALERT not in by_sid[sids[0]]


def test_three_messages_on_a_call_with_no_record_are_one_voicemail_escalation_listing_all(
        app, client, database, jobs, standin, staff):
    """No call record (the fallback URL's messages): three recording-status callbacks as Twilio sends them make one
    ``voicemail`` escalation whose page lists all three, each playable."""
    call_sid = "CA" + "7" * 32
    sids = [f"RE{n}" + "7" * 31 for n in range(1, 4)]
    for seconds, sid in enumerate(sids, start=2):
        standin.add_recording(sid, tone_wav(seconds), call_sid=call_sid, duration=seconds)
        params = {"CallSid": call_sid, "AccountSid": ACCOUNT, "RecordingSid": sid, "RecordingStatus": "completed",
                  "RecordingUrl": f"{standin.url}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}",
                  "RecordingDuration": str(seconds)}
        assert post(client, RECORDING_STATUS, params).status_code == 200
        jobs.clock.now += dt.timedelta(seconds=1)  # heard of one by one
    jobs.run()
    [esc] = of_call(database, call_sid)
    assert esc.reason == "voicemail"
    desk = front_desk(app, staff)
    page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
    listed = cards(page)
    assert [re.search(r'name="recording" value="(RE\w+)"', c).group(1) for c in listed] == sids
    assert [c.split("</h2>")[0].strip() for c in listed] == [f"<h2>Voicemail {n} of 3" for n in (1, 2, 3)]
    for seconds, sid in enumerate(sids, start=2):
        staff_post(desk, f"/staff/e/{esc.id}/voicemail", {"recording": sid}, token_from=f"/staff/e/{esc.id}")
        assert desk.get(f"/staff/e/{esc.id}/voicemail.wav?recording={sid}").data == tone_wav(seconds)


@pytest.mark.parametrize("second", ["crisis", "callback"])
def test_a_message_heard_after_the_call_was_resolved_reaches_the_queue(second, app, client, database, jobs, standin,
                                                                       staff):
    """``0;record:5:9``: the on-call resolves the crisis escalation (they reached the caller) before Twilio's
    recording callbacks come. The messages are not folded into the resolved row, where nobody would see them: an
    escalation of their own is in the queue, listing both; a crisis in the second pages the on-call again."""
    from ivr.escalations import worklist

    transport = Holding(client, hold=(RECORDING_STATUS,))
    result = simulator(transport, standin).call(from_=ALEX, script="0;record:5:9")
    sids = [p["RecordingSid"] for _, p, _ in transport.held_all]
    words_of(app, result.call_sid, sids[0], "hi please call me back")
    words_of(app, result.call_sid, sids[1], "i want to kill myself" if second == "crisis" else "also about friday")
    jobs.run()
    [crisis] = of_call(database, result.call_sid)
    on_call = staff["oncall@example.com"]
    worklist.claim(database, crisis.id, on_call, jobs.clock.now)
    worklist.resolve(database, crisis.id, on_call, "Reached them; safe.", jobs.clock.now, is_owner=False)
    jobs.clock.now += dt.timedelta(minutes=3)
    for index in range(2):
        assert transport.deliver_held(index)[0] == 200
        jobs.run()
    resolved, new = of_call(database, result.call_sid)
    assert (resolved.id, resolved.status, resolved.category) == (crisis.id, "resolved", "crisis")
    assert new.status == "open" and new.reason == "voicemail"
    if second == "crisis":
        assert (new.category, new.priority) == ("crisis", 0) and "raised_to_crisis" in new.timeline
        assert [to for to, _ in urgent_pages(standin, new.id)].count(ON_CALL) == 1
    else:
        assert (new.category, new.priority) == ("voicemail", 2)
        assert not urgent_pages(standin, new.id)
        assert any(f"#{new.id}" in body for _, body in texts(standin))  # staff told (link-only)
    page = front_desk(app, staff).get(f"/staff/e/{new.id}").get_data(as_text=True)
    assert len(cards(page)) == 2
    assert f'<li id="e-{new.id}"' in front_desk(app, staff).get("/staff/").get_data(as_text=True)
