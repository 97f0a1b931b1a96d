"""bt14-s24 blocker 1, as callers would try it: danger, medical and self-harm words the list once missed go to the
crisis path at the main menu and at the reschedule offers; plain calls for help are offered 9 there, never "Sorry,
I didn't catch that". Whole calls through the simulator (signed webhooks, the TwiML followed verb by verb)."""
from __future__ import annotations

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from tests.helpers.service import stored_state

ALEX = "+15551230001"  # the demo practice's Alex Rivera, born April 15, 1985
CRISIS_GUIDANCE = (
    "If you are in danger or this is a medical emergency, hang up and dial 9 1 1 now. If you are thinking "
    "about suicide or are in crisis, you can call or text 9 8 8, the Suicide and Crisis Lifeline, at any time, "
    "day or night.")
ON_CALL = "I am connecting you with our on-call clinician now."
OFFER = "If you are in crisis, press 9 now."
# At the main menu, and at the first reschedule offers after a keyed date of birth (the break-test's steps).
PROMPTS = [("say:{said};{then}", "main_menu"), ("1;04151985#;1;say:{said};{then}", "pick")]


def urgent(redis_conn) -> list[str]:
    return Queue("urgent", connection=redis_conn, serializer=JSONSerializer).job_ids


@pytest.mark.parametrize(("script", "step"), PROMPTS)
@pytest.mark.parametrize("said", ["there's a man with a gun outside my house", "he's got a knife", "stop hurting me",
                                  "I'm seizing", "my epi pen didn't work", "killmyself",
                                  "I'm not thinking of hurting anyone except myself"])
def test_danger_medical_and_self_harm_words_go_to_the_crisis_path(sim, redis_conn, script, step, said):
    result = sim.call(from_=ALEX, script=script.format(said=said, then="answer"))
    assert not any(h.startswith("Sorry") for h in result.heard)
    assert result.heard[-2:] == [CRISIS_GUIDANCE, ON_CALL]
    steps = stored_state(redis_conn, result.call_sid)["history"]
    assert any(s.endswith(f"{step}:crisis") for s in steps), steps
    assert urgent(redis_conn) == [f"escalate-{result.call_sid}-crisis"]


@pytest.mark.parametrize(("script", "step"), PROMPTS)
@pytest.mark.parametrize("said", ["please help", "I need help", "I'm on the bridge right now"])
def test_plain_calls_for_help_are_offered_nine_and_nine_goes_to_the_crisis_path(sim, redis_conn, script, step, said):
    result = sim.call(from_=ALEX, script=script.format(said=said, then="9;answer"))
    assert OFFER in result.heard or any(h.startswith(OFFER) for h in result.heard), result.heard
    assert not any(h.startswith("Sorry") for h in result.heard)
    assert result.heard[-2:] == [CRISIS_GUIDANCE, ON_CALL]
    steps = stored_state(redis_conn, result.call_sid)["history"]
    assert any(s.endswith(f"{step}:crisis-offered") for s in steps), steps


# bt14-s25 BLOCKER 1, the break-test's own calls: suicidal thoughts, warning signs, danger and medical words once
# answered "Sorry, I didn't catch that" go to the crisis path at the date of birth, the main menu, the reschedule
# confirmation and a new client's number read-back (the crisis check comes before yes/no: "no one would care if I
# was gone" is never read as "no").
@pytest.mark.parametrize(("script", "said"), [
    ("early:1;say:{said};answer", "I want to sleep and never wake up"),
    ("say:{said};answer", "I don't care if I live or die"),
    ("say:{said};answer", "my dad beats my mom"),
    ("1;04151985#;1;1;say:{said};answer", "I wish I could just not wake up"),
])
def test_bt14_s25_crisis_words_go_to_the_crisis_path(sim, redis_conn, script, said):
    result = sim.call(from_=ALEX, script=script.format(said=said))
    assert not any(h.startswith("Sorry") for h in result.heard), result.heard
    assert result.heard[-2:] == [CRISIS_GUIDANCE, ON_CALL]
    assert urgent(redis_conn) == [f"escalate-{result.call_sid}-crisis"]


def test_bt14_s25_crisis_at_a_read_back_comes_before_yes_or_no(sim, redis_conn):
    result = sim.call(from_="+15559998881",
                      script="4;say:Jane;say:555 212 3456;say:no one would care if I was gone;answer")
    assert result.heard[-2:] == [CRISIS_GUIDANCE, ON_CALL]
    assert urgent(redis_conn) == [f"escalate-{result.call_sid}-crisis"]


def test_bt14_s25_never_wanted_to_is_a_denial_and_the_request_goes_on(sim, redis_conn):
    """SHOULD-FIX 3: "I never wanted to kill myself, I need my link" at the date of birth after choosing links is
    no crisis: nobody is paged, and the date of birth is asked again (the request goes on)."""
    result = sim.call(from_=ALEX, script="early:2;say:I never wanted to kill myself, I need my link;hangup")
    assert ON_CALL not in result.heard and CRISIS_GUIDANCE not in result.heard, result.heard
    assert urgent(redis_conn) == []
    steps = stored_state(redis_conn, result.call_sid)["history"]
    assert not any(s.endswith(":crisis") for s in steps), steps
