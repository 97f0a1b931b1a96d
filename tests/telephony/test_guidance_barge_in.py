"""S7 (issue 14): speech never cuts off the emergency guidance, while 9 (and every key the menu takes) still acts
during it.  The guidance plays in a keypad-only ``<Gather>`` posting to the menu's action; with no key Twilio falls
through to the menu's speech-and-keys ``<Gather>``.  Whole calls through the simulator: signed webhooks, the TwiML
followed verb by verb, a key given to the gather that listens when it is pressed (``early:`` = during the guidance)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ivr.core.timeline import describe
from tests.helpers.service import stored_state

GREETING = ("Thank you for calling Lakeside Counseling Collective. If you are in danger or this is a medical "
            "emergency, hang up and dial 9 1 1. If you are in crisis, call or text 9 8 8 to reach the Suicide and "
            "Crisis Lifeline, any time. For urgent support right now, press 9 at any time.")
ON_CALL = "I am connecting you with our on-call clinician now."


def gathers(document: str) -> list[ET.Element]:
    return [child for child in ET.fromstring(document) if child.tag == "Gather"]


def inputs(result) -> list[dict[str, str]]:
    """What the caller sent to the gather actions: keys or speech."""
    return [{k: v for k, v in r.params.items() if k in ("Digits", "SpeechResult")}
            for r in result.requests if r.purpose == "action" and "/twilio/voice/input" in r.url]


def test_the_guidance_plays_in_a_keypad_only_gather_before_the_menus(sim):
    result = sim.call(script="hangup")
    guidance, menu = gathers(result.documents[0])
    # early=1: a key pressed there reads "during the greeting" in the timeline (bt14-s25 nit 6)
    assert guidance.attrib == {"action": "https://ql.example.org/twilio/voice/input?turn=1&early=1", "input": "dtmf",
                               "method": "POST", "numDigits": "1", "timeout": "1"}
    assert ["".join(say.itertext()) for say in guidance] == [GREETING]
    # The menu's: same action (without the mark), keys and speech; the guidance is not said again.
    assert (menu.get("action"), menu.get("input")) == ("https://ql.example.org/twilio/voice/input?turn=1",
                                                       "dtmf speech")
    assert GREETING not in ["".join(say.itertext()) for say in menu]


def test_speech_during_the_guidance_never_cuts_it_off(sim, redis_conn):
    result = sim.call(script="early:say:hello is anyone there;say:billing;hangup")
    assert result.heard[0] == GREETING  # heard to the end
    assert ("note", "speech 'hello is anyone there' ignored: this <Gather> only listens for the keypad") \
        in result.transcript
    # What is said at the menu after it acts there.
    assert inputs(result) == [{"SpeechResult": "billing"}]
    assert "main.want_billing" in stored_state(redis_conn, result.call_sid)["history"]


def test_nine_during_the_guidance_goes_to_the_crisis_path_at_once(sim, redis_conn):
    result = sim.call(script="early:9;answer")
    assert inputs(result) == [{"Digits": "9"}]
    assert result.heard[0] == GREETING and result.heard[-1] == ON_CALL
    assert result.heard[1] != result.heard[0] and not any("To reschedule or cancel" in h for h in result.heard)
    assert "main.to_crisis" in stored_state(redis_conn, result.call_sid)["history"]


def test_a_key_during_the_guidance_is_marked_for_the_timeline(sim, redis_conn):
    """bt14-s25 nit 6: the guidance's gather posts with early=1; staff read "during the greeting"."""
    early = sim.call(script="early:9;answer")
    assert [r.url.endswith("early=1") for r in early.requests if "/twilio/voice/input" in r.url] == [True]
    history = stored_state(redis_conn, early.call_sid)["history"]
    at = history.index("main_menu:crisis")
    assert history[at - 1] == "keyed-during-greeting"
    assert "Main menu (during the greeting): asked for urgent support" in describe(history, {})
    late = sim.call(script="9;answer")
    history = stored_state(redis_conn, late.call_sid)["history"]
    assert "keyed-during-greeting" not in history
    assert "Main menu: asked for urgent support" in describe(history, {})


def test_zero_and_the_menu_keys_during_the_guidance_act_as_at_the_menu(sim, redis_conn):
    early = sim.call(script="early:1;hangup")
    late = sim.call(script="1;hangup")
    assert inputs(early) == inputs(late) == [{"Digits": "1"}]
    # The same next prompt, minus the menu the early caller never had to hear.
    assert early.heard[-1] == late.heard[-1]
    assert "main.want_appointments" in stored_state(redis_conn, early.call_sid)["history"]
    zero = sim.call(script="early:0;noanswer;hangup")
    assert inputs(zero) == [{"Digits": "0"}]
    assert "main.to_person" in stored_state(redis_conn, zero.call_sid)["history"]


def test_silence_through_the_guidance_reaches_the_menu(sim):
    result = sim.call(script="wait;hangup")
    assert result.heard[0] == GREETING and any("To reschedule or cancel" in h for h in result.heard[1:])
    assert [r.purpose for r in result.requests][:2] == ["voice", "redirect"]  # the menu's <Redirect> after its wait
