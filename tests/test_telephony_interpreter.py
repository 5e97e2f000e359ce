"""The TwiML interpreter: a simulated call against a small Flask app that checks every signature.

The app below answers handcrafted TwiML and refuses (403) any request whose
X-Twilio-Signature does not validate with twilio's RequestValidator, so every call that ends
without an error event also proves the signing right.
"""

from __future__ import annotations

import email.utils
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask, Response, abort, redirect, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from helpline.sandbox.interpreter import CallSimulator, Limits
from helpline.sandbox.script import (
    DialOutcome,
    HangUp,
    Press,
    SayNothing,
    Script,
    ScriptError,
    Speak,
    Wait,
)
from helpline.sandbox.transcript import EndReason, Pressed, Transcript
from helpline.sandbox.transport import FlaskTransport, HttpTransport
from helpline.telephony.signing import sign

TOKEN = "test-auth-token"
ACCOUNT = "AC" + "a" * 32
BASE = "http://helpline.test"
SID = re.compile(r"CA[0-9a-f]{32}")

Page = str | Callable[[], ResponseReturnValue]


@dataclass(frozen=True)
class Seen:
    """A request the app received (after its signature was checked)."""

    method: str
    path: str  # with the query string
    form: dict[str, str]

    @property
    def params(self) -> dict[str, str]:
        """What Twilio sent: the form for POST, the query string for GET."""
        return self.form if self.method == "POST" else dict(parse_qsl(urlsplit(self.path).query))


def twiml(body: str) -> Response:
    return Response(f"<Response>{body}</Response>", mimetype="text/xml")


def make_app(pages: Mapping[str, Page]) -> tuple[Flask, list[Seen]]:
    """An app serving `pages` by path; it validates every request's signature."""
    app = Flask(__name__)
    seen: list[Seen] = []
    validator = RequestValidator(TOKEN)

    @app.route("/<path:path>", methods=["GET", "POST"])
    def serve(path: str) -> ResponseReturnValue:
        query = request.query_string.decode()
        url = request.base_url + (f"?{query}" if query else "")
        params = request.form if request.method == "POST" else {}
        if not validator.validate(url, params, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        seen.append(Seen(request.method, request.full_path.rstrip("?"), request.form.to_dict()))
        page = pages.get("/" + path)
        if page is None:
            abort(404)
        return page() if callable(page) else twiml(page)

    return app, seen


def simulate(
    pages: Mapping[str, Page], script: str | None = None, **options: Any
) -> tuple[Transcript, list[Seen]]:
    """Call `{BASE}/voice` (unless `url` is given) and return the transcript and requests."""
    app, seen = make_app(pages)
    options.setdefault("url", f"{BASE}/voice")
    simulator = CallSimulator(
        FlaskTransport(app, BASE), account_sid=ACCOUNT, auth_token=TOKEN, script=script, **options
    )
    return simulator.run(), seen


def said(transcript: Transcript) -> list[str]:
    return [item.text for item in transcript.heard() if item.kind == "say"]


def paths(seen: list[Seen]) -> list[str]:
    return [f"{item.method} {item.path}" for item in seen]


# Signing


def test_sign_matches_twilio_documentation_vector() -> None:
    """The signature is the one in Twilio's docs (and validates with and without :443)."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert sign("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert RequestValidator("12345").validate(
        "https://mycompany.com:443/myapp.php?foo=1&bar=2", params, sign("12345", url, params)
    )


def test_interpreter_wrong_token_is_refused_by_the_app() -> None:
    """The test app really checks signatures: a call signed with another token gets a 403."""
    app, seen = make_app({"/voice": "<Say>Hello</Say>"})
    simulator = CallSimulator(
        FlaskTransport(app, BASE), account_sid=ACCOUNT, auth_token="wrong", url=f"{BASE}/voice"
    )
    transcript = simulator.run()
    assert transcript.end_reason is EndReason.ERROR
    assert "HTTP 403" in transcript.errors()[0].message
    assert seen == []


# Parameters and the end of a document


def test_interpreter_sends_common_parameters() -> None:
    """The first request carries Twilio's common call parameters, CallStatus ringing."""
    transcript, seen = simulate({"/voice": "<Say>Hi</Say>"}, from_="+905321234567", to="+908501")
    params = seen[0].form
    assert SID.fullmatch(params["CallSid"])
    assert params["CallSid"] == transcript.call_sid
    assert params == {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "CallSid": transcript.call_sid,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "+905321234567",
        "To": "+908501",
        "Caller": "+905321234567",
        "Called": "+908501",
    }


def test_interpreter_end_of_document_ends_the_call() -> None:
    """A document that runs out of verbs without a Redirect ends the call."""
    transcript, seen = simulate({"/voice": '<Say language="tr-TR">Merhaba</Say><Pause/>'})
    assert said(transcript) == ["Merhaba"]
    assert transcript.end_reason is EndReason.END_OF_DOCUMENT
    assert transcript.errors() == []
    assert len(seen) == 1


def test_interpreter_get_puts_parameters_in_the_signed_query_string() -> None:
    """With method GET the parameters go in the query string, after the URL's own, signed."""
    transcript, seen = simulate(
        {"/voice": "<Say>Hi</Say>"}, url=f"{BASE}/voice?lang=tr&x=%2B1", method="GET"
    )
    assert transcript.errors() == []
    assert seen[0].method == "GET"
    assert seen[0].path.startswith("/voice?lang=tr&x=%2B1&")
    assert seen[0].params["CallStatus"] == "ringing"


# URLs: default actions, relative URLs, redirects


def test_gather_without_action_posts_to_the_current_document_url() -> None:
    """A Gather with no action posts the digits to the URL of the document, query included."""
    pages = {
        "/voice": lambda: (
            twiml("<Gather><Say>Menu</Say></Gather>")
            if not request.form.get("Digits")
            else twiml("<Hangup/>")
        )
    }
    transcript, seen = simulate(pages, "press 7#", url=f"{BASE}/voice?lang=tr")
    assert paths(seen) == ["POST /voice?lang=tr", "POST /voice?lang=tr"]
    assert seen[1].form["Digits"] == "7"
    assert seen[1].form["FinishedOnKey"] == "#"
    assert seen[1].form["CallStatus"] == "in-progress"
    assert transcript.end_reason is EndReason.TWIML_HANGUP


@pytest.mark.parametrize(
    ("target", "requested"),
    [
        ("next", "/ivr/next"),
        ("/top", "/top"),
        ("../up", "/up"),
        ("sub/next?x=1&y=2", "/ivr/sub/next?x=1&y=2"),
        (f"{BASE}/abs?a=1", "/abs?a=1"),
        ("next#rc=2", "/ivr/next"),
    ],
)
def test_redirect_resolves_relative_urls_against_the_document(target: str, requested: str) -> None:
    """Relative URLs resolve against the current document URL; fragments never reach the app."""
    pages = {
        "/ivr/menu": f"<Redirect>{target.replace('&', '&amp;')}</Redirect>",
        requested.split("?")[0]: "<Hangup/>",
    }
    transcript, seen = simulate(pages, url=f"{BASE}/ivr/menu")
    assert paths(seen)[-1] == f"POST {requested}"
    assert transcript.end_reason is EndReason.TWIML_HANGUP


def test_redirect_defaults_to_post_and_honours_get() -> None:
    """<Redirect> posts unless method="GET"; a GET carries the parameters in the query."""
    pages = {
        "/voice": "<Redirect>/a</Redirect>",
        "/a": '<Redirect method="GET">/b?x=1</Redirect>',
        "/b": "<Hangup/>",
    }
    transcript, seen = simulate(pages)
    assert [item.method for item in seen] == ["POST", "POST", "GET"]
    assert seen[2].params["x"] == "1"
    assert seen[2].params["CallSid"] == transcript.call_sid


@pytest.mark.parametrize(("status", "method"), [(302, "GET"), (303, "GET"), (307, "POST")])
def test_transport_follows_redirects_with_fresh_signatures(status: int, method: str) -> None:
    """3xx answers are followed like an HTTP client; the moved document's URL is the base."""
    pages: dict[str, Page] = {
        "/voice": lambda: redirect("/moved/menu", code=status),
        "/moved/menu": lambda: twiml(
            "<Hangup/>" if request.values.get("Digits") else '<Gather numDigits="1"/>'
        ),
    }
    transcript, seen = simulate(pages, "press 1")
    assert paths(seen)[:2] == ["POST /voice", f"{method} /moved/menu"]
    assert paths(seen)[2] == "POST /moved/menu"  # the Gather's default action
    assert transcript.requests()[0].final_url == f"{BASE}/moved/menu"
    assert transcript.end_reason is EndReason.TWIML_HANGUP


# Prompts and simulated time


def test_prompts_take_simulated_time() -> None:
    """Speech takes ~13 characters a second, audio a fixed time, pauses their length."""
    pages = {
        "/ivr/voice": '<Say loop="2" voice="Polly.Filiz" language="tr-TR">'
        + "a" * 26
        + '</Say><Play>audio/hello.mp3</Play><Pause length="3"/><Play digits="12w"/>'
        "<Say>end</Say>"
    }
    transcript, _ = simulate(pages, url=f"{BASE}/ivr/voice")
    say, play, tones, end = transcript.heard()
    assert (say.at, say.times, say.voice, say.language) == (0, 2, "Polly.Filiz", "tr-TR")
    assert (play.at, play.url) == (4, f"{BASE}/ivr/audio/hello.mp3")
    assert (tones.at, tones.kind, tones.text) == (12, "digits", "12w")
    assert end.at == 13.5
    assert transcript.duration == pytest.approx(13.7)


# Gather


def test_gather_falls_through_on_timeout() -> None:
    """No key before the timeout: the action is not requested, the next verb runs."""
    pages = {"/voice": '<Gather action="/g" timeout="3"><Say>Menu</Say></Gather><Say>Bye</Say>'}
    transcript, seen = simulate(pages, "say nothing")
    assert said(transcript) == ["Menu", "Bye"]
    assert paths(seen) == ["POST /voice"]
    assert transcript.end_reason is EndReason.END_OF_DOCUMENT


def test_gather_action_on_empty_result_posts_empty_digits() -> None:
    """actionOnEmptyResult="true" requests the action even without input."""
    pages = {
        "/voice": '<Gather action="/g" actionOnEmptyResult="true"><Say>Menu</Say></Gather>',
        "/g": "<Hangup/>",
    }
    _, seen = simulate(pages)
    assert paths(seen) == ["POST /voice", "POST /g"]
    assert seen[1].form["Digits"] == ""


@pytest.mark.parametrize(
    ("script", "cut_after", "pressed_at"),
    [
        ("press 1", None, 4.3),  # the caller hears the whole prompt once, then presses
        ("wait 1.5; press 1", 1.5, 1.5),  # the key stops the prompt
        ("wait 6; press 1", None, 6.0),  # during the timeout, after the prompt
    ],
)
def test_gather_digits_stop_the_prompt(
    script: str, cut_after: float | None, pressed_at: float
) -> None:
    """The prompt stops at the first key; a caller who does not wait hears it once through."""
    prompt = "x" * 52  # 4 seconds at 13 characters a second
    pages = {
        "/voice": f'<Gather action="/g" numDigits="1"><Say>{prompt}</Say><Say>more</Say></Gather>',
        "/g": "<Hangup/>",
    }
    transcript, _ = simulate(pages, script)
    heard = transcript.heard()
    assert heard[0].cut_after == cut_after
    assert [event.at for event in transcript.events if isinstance(event, Pressed)] == [pressed_at]
    if cut_after is not None:
        assert len(heard) == 1  # the second Say never started


@pytest.mark.parametrize(
    ("attributes", "script", "digits", "finished"),
    [
        ("", "press 12#", "12", "#"),
        ('numDigits="2"', "press 123", "12", ""),
        ('finishOnKey="*"', "press 45*", "45", "*"),
        ('finishOnKey=""', "press 45#", "45#", ""),
        ("", "press 12; press 3#", "123", "#"),
        ("", "press 12", "12", ""),  # the timeout submits what was typed
    ],
)
def test_gather_collects_digits(attributes: str, script: str, digits: str, finished: str) -> None:
    """numDigits and finishOnKey end the input; the finishing key is not part of Digits."""
    pages = {"/voice": f'<Gather action="/g" {attributes}/>', "/g": "<Hangup/>"}
    _, seen = simulate(pages, script)
    assert seen[-1].form["Digits"] == digits
    assert seen[-1].form["FinishedOnKey"] == finished


def test_gather_only_finish_key_falls_through() -> None:
    """Pressing only the finishOnKey is no input: the Gather falls through."""
    pages = {"/voice": '<Gather action="/g"><Say>Menu</Say></Gather><Say>Bye</Say>'}
    transcript, seen = simulate(pages, "press #")
    assert paths(seen) == ["POST /voice"]
    assert said(transcript) == ["Menu", "Bye"]


def test_gather_caller_hangs_up_without_action() -> None:
    """A caller hanging up during a Gather ends the call; the action is not requested."""
    pages = {"/voice": '<Gather action="/g"><Say>A long menu here</Say></Gather>'}
    transcript, seen = simulate(pages, "wait 0.5; hangup")
    assert transcript.end_reason is EndReason.CALLER_HANGUP
    assert transcript.heard()[0].cut_after == 0.5
    assert paths(seen) == ["POST /voice"]


# Record


LEAVE_MESSAGE = '<Say>Leave a message</Say><Record maxLength="30"/><Say>No message</Say>'
RECORD_PAGES: dict[str, Page] = {"/voice": LEAVE_MESSAGE}


def test_record_posts_recording_to_the_current_url() -> None:
    """A Record without action posts RecordingUrl, RecordingDuration, RecordingSid, Digits."""
    pages: dict[str, Page] = {
        "/voice": lambda: twiml(
            "<Say>Thanks</Say>" if request.form.get("RecordingUrl") else LEAVE_MESSAGE
        )
    }
    transcript, seen = simulate(pages, "record 12")
    form = seen[1].form
    assert paths(seen) == ["POST /voice", "POST /voice"]
    assert form["RecordingDuration"] == "12"
    assert form["Digits"] == "#"
    assert re.fullmatch(r"RE[0-9a-f]{32}", form["RecordingSid"])
    assert form["RecordingUrl"].endswith(f"/Accounts/{ACCOUNT}/Recordings/{form['RecordingSid']}")
    assert said(transcript) == ["Leave a message", "Thanks"]


@pytest.mark.parametrize("script", ["say nothing", "press #", "", "wait 9; record 5"])
def test_record_empty_does_not_request_the_action(script: str) -> None:
    """An empty recording skips the action and goes on with the next verb."""
    transcript, seen = simulate(RECORD_PAGES, script)
    assert paths(seen) == ["POST /voice"]
    assert said(transcript) == ["Leave a message", "No message"]


@pytest.mark.parametrize(
    ("script", "attributes", "digits", "duration"),
    [
        ("record 5; press *", "", "*", "5"),
        ("record 5", 'finishOnKey=""', "", "5"),
        ("record 50", 'maxLength="20"', "", "20"),
    ],
)
def test_record_ends_by_key_silence_or_max_length(
    script: str, attributes: str, digits: str, duration: str
) -> None:
    """The caller stops with a key, by silence when no key finishes, or at maxLength."""
    pages = {"/voice": f'<Record action="/r" {attributes}/>', "/r": "<Hangup/>"}
    _, seen = simulate(pages, script)
    assert seen[-1].form["Digits"] == digits
    assert seen[-1].form["RecordingDuration"] == duration


def test_record_hangup_posts_action_with_digits_hangup() -> None:
    """Hanging up after speaking still posts the recording, Digits=hangup, CallStatus completed."""
    pages = {"/voice": '<Record action="/r"/>', "/r": "<Say>never heard</Say>"}
    transcript, seen = simulate(pages, "record 4; hangup")
    assert seen[-1].form["Digits"] == "hangup"
    assert seen[-1].form["CallStatus"] == "completed"
    assert transcript.end_reason is EndReason.CALLER_HANGUP
    assert said(transcript) == []


# Dial


@pytest.mark.parametrize(
    ("noun", "script", "outcomes", "expected"),
    [
        (
            "<Number>+4420</Number>",
            "",
            {},
            {"DialCallStatus": "completed", "DialCallDuration": "60", "DialBridged": "true"},
        ),
        (
            "+4420",
            "dial answered 42",
            {},
            {"DialCallStatus": "completed", "DialCallDuration": "42", "DialBridged": "true"},
        ),
        (
            "<Number>+4420</Number>",
            "dial busy",
            {},
            {"DialCallStatus": "busy", "DialBridged": "false"},
        ),
        (
            "<Number>+4420</Number>",
            "",
            {"+4420": DialOutcome("no-answer")},
            {"DialCallStatus": "no-answer", "DialBridged": "false"},
        ),
        (
            "<Client>alice</Client><Number>+4420</Number>",
            "",
            {"client:alice": DialOutcome("failed")},
            {"DialCallStatus": "completed", "DialCallDuration": "60", "DialBridged": "true"},
        ),
        (
            "<Conference>room</Conference>",
            "",
            {},
            {"DialCallStatus": "answered", "DialBridged": "true"},
        ),
        ("<Queue>support</Queue>", "", {}, {"DialCallStatus": "no-answer", "DialBridged": "false"}),
    ],
)
def test_dial_action_parameters(
    noun: str, script: str, outcomes: dict[str, DialOutcome], expected: dict[str, str]
) -> None:
    """The Dial action gets DialCallStatus, DialCallSid, DialCallDuration, DialBridged."""
    pages = {
        "/voice": f'<Dial action="/after" timeout="20">{noun}</Dial><Say>unreachable</Say>',
        "/after": "<Hangup/>",
    }
    transcript, seen = simulate(pages, script, dial_outcomes=outcomes)
    form = seen[-1].form
    assert {key: form[key] for key in expected} == expected
    assert ("DialCallSid" in form) == ("Conference" not in noun)
    assert "DialCallDuration" not in form or form["DialCallStatus"] == "completed"
    assert said(transcript) == []


def test_dial_without_action_continues_with_the_next_verb() -> None:
    """Without an action, the verb after <Dial> runs (and the time passed shows)."""
    pages = {"/voice": '<Dial timeout="15"><Number>+4420</Number></Dial><Say>Nobody answered</Say>'}
    transcript, seen = simulate(pages, "dial no-answer")
    assert said(transcript) == ["Nobody answered"]
    assert transcript.heard()[0].at == 15
    assert len(seen) == 1


# Hangup and Reject


def test_hangup_ends_the_call_and_skips_later_verbs() -> None:
    """<Hangup> ends the call at once."""
    transcript, _ = simulate({"/voice": "<Say>Bye</Say><Hangup/><Say>never</Say>"})
    assert said(transcript) == ["Bye"]
    assert transcript.end_reason is EndReason.TWIML_HANGUP


@pytest.mark.parametrize(("reason", "status"), [("rejected", "no-answer"), ("busy", "busy")])
def test_reject_ends_unanswered_call(reason: str, status: str) -> None:
    """<Reject> refuses the call: no answered callback, final status busy or no-answer."""
    pages = {"/voice": f'<Reject reason="{reason}"/>', "/status": "<Response/>"}
    transcript, seen = simulate(
        pages,
        status_callback=f"{BASE}/status",
        status_callback_events=["initiated", "answered", "completed"],
    )
    assert transcript.end_reason is EndReason.REJECTED
    callbacks = [item.form for item in seen if item.path == "/status"]
    assert [form["CallStatus"] for form in callbacks] == ["initiated", status]
    assert callbacks[-1]["CallDuration"] == "0"


# Enqueue and Leave


QUEUE_PAGES: dict[str, Page] = {
    "/voice": '<Enqueue action="/after" waitUrl="/hold">support</Enqueue>',
    "/hold": '<Say>Please hold</Say><Pause length="20"/>',
    "/after": "<Say>Thanks</Say>",
}


def test_enqueue_replays_wait_url_a_bounded_number_of_times() -> None:
    """The waitUrl is requested again each time it runs out; the caller gives up in the end."""
    transcript, seen = simulate(QUEUE_PAGES, limits=Limits(max_queue_rounds=3))
    holds = [item.form for item in seen if item.path == "/hold"]
    assert len(holds) == 3
    assert [form["QueueTime"] for form in holds] == ["0", "21", "42"]
    assert {form["QueuePosition"] for form in holds} == {"1"}
    assert {"QueueSid", "AvgQueueTime", "CurrentQueueSize", "MaxQueueSize"} <= holds[0].keys()
    assert seen[-1].path == "/after"
    assert seen[-1].form["QueueResult"] == "hangup"
    assert transcript.end_reason is EndReason.CALLER_HANGUP


def test_enqueue_caller_hangs_up_while_waiting() -> None:
    """A scripted hangup ends the wait at that moment, even mid-prompt."""
    transcript, seen = simulate(QUEUE_PAGES, "wait 30; hangup")
    assert transcript.end_reason is EndReason.CALLER_HANGUP
    assert transcript.duration == 30
    assert seen[-1].form["QueueResult"] == "hangup"
    assert seen[-1].form["QueueTime"] == "30"


def test_leave_continues_after_enqueue() -> None:
    """<Leave> in the wait document ends the wait; the action gets QueueResult=leave."""
    pages = dict(QUEUE_PAGES, **{"/hold": "<Say>Sorry, we are closed</Say><Leave/>"})
    transcript, seen = simulate(pages)
    assert seen[-1].form["QueueResult"] == "leave"
    assert said(transcript) == ["Sorry, we are closed", "Thanks"]
    assert transcript.end_reason is EndReason.END_OF_DOCUMENT


def test_enqueue_bad_wait_document_gives_queue_result_error() -> None:
    """A verb not allowed in a waitUrl document ends the wait with QueueResult=error."""
    pages = dict(QUEUE_PAGES, **{"/hold": "<Dial>+4420</Dial>"})
    _, seen = simulate(pages)
    assert seen[-1].form["QueueResult"] == "error"


def test_enqueue_default_music_and_no_action_continue() -> None:
    """Without waitUrl the caller hears hold music; without action the next verb runs."""
    pages = {"/voice": "<Enqueue>support</Enqueue><Say>after</Say>", "/after": "<Hangup/>"}
    transcript, _ = simulate(pages, "wait 45; hangup")
    assert [item.kind for item in transcript.heard()] == ["play", "play"]
    assert transcript.heard()[1].cut_after == 15
    assert transcript.end_reason is EndReason.CALLER_HANGUP


# Scripts


@pytest.mark.parametrize(
    ("source", "actions"),
    [
        ("press 1; wait 3; press 2; hangup", (Press("1"), Wait(3), Press("2"), HangUp())),
        ("say nothing\nrecord 4.5;", (SayNothing(), Speak(4.5))),
        ("Press *9#; hang up", (Press("*9#"), HangUp())),
        ("dial busy; dial answered 30", (DialOutcome("busy"), DialOutcome("answered", 30))),
        (
            ["press 1", {"wait": 2}, {"press": 12}, {"hangup": None}],
            (Press("1"), Wait(2), Press("12"), HangUp()),
        ),
        ([{"say": "nothing"}, {"record": 3}], (SayNothing(), Speak(3))),
        (None, ()),
        ("", ()),
    ],
)
def test_script_parse(source: Any, actions: tuple[object, ...]) -> None:
    """Scripts come as a compact string or a YAML list of strings and one-key mappings."""
    script = Script.parse(source)
    assert script.actions == actions
    assert Script.parse(str(script)) == script


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("press 1; jump 2", "step 2 ('jump 2'): unknown step 'jump'"),
        ("press", "step 1 ('press'): press takes one run of keys"),
        ("press 12a", "press takes one run of keys"),
        ("wait soon", "'soon' is not a number of seconds"),
        ("wait -1", "more than 0"),
        ("wait nan", "more than 0"),
        ("say something", "bad arguments"),
        ("dial maybe", "bad arguments"),
        ("hangup now", "bad arguments"),
        ([{"press": 1, "wait": 2}], "step 1 must be a string or a mapping with one key"),
        ([{"press": True}], "step 1 must be a string"),
        ([["press 1"]], "step 1 must be a string"),
        ({"press": 1}, "a script is a string or a list of steps, not dict"),
    ],
)
def test_script_errors_name_the_step(source: Any, message: str) -> None:
    """A bad script is refused with a message naming the step and what is allowed."""
    with pytest.raises(ScriptError) as caught:
        Script.parse(source)
    assert message in str(caught.value)


def test_script_mismatch_ends_the_call() -> None:
    """A step that cannot apply where the call is (record at a Gather) ends the call clearly."""
    transcript, _ = simulate({"/voice": "<Gather/>"}, "record 3")
    assert transcript.end_reason is EndReason.SCRIPT_MISMATCH
    ended = transcript.ended
    assert ended is not None
    assert "record 3" in ended.detail


def test_script_ended_caller_hangs_up_after_patience() -> None:
    """With the script over, the caller sits silently through a few menus, then hangs up."""
    pages = {"/voice": '<Gather timeout="2"><Say>Menu</Say></Gather><Redirect>/voice</Redirect>'}
    transcript, seen = simulate(pages, "say nothing", limits=Limits(patience=2))
    assert transcript.end_reason is EndReason.SCRIPT_ENDED
    assert said(transcript) == ["Menu"] * 3
    assert len(seen) == 4


# Limits and robustness


def test_step_limit_ends_a_redirect_loop() -> None:
    """A Redirect loop ends at the step limit."""
    transcript, seen = simulate(
        {"/voice": "<Redirect>/voice</Redirect>"}, limits=Limits(max_steps=9)
    )
    assert transcript.end_reason is EndReason.STEP_LIMIT
    assert 0 < len(seen) <= 9


def test_time_limit_ends_the_call() -> None:
    """Simulated time is bounded too."""
    transcript, _ = simulate({"/voice": '<Pause length="600"/>'}, limits=Limits(max_seconds=60))
    assert transcript.end_reason is EndReason.TIME_LIMIT
    assert transcript.duration == 60


def _crash() -> ResponseReturnValue:
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (lambda: Response("oops", status=500), "answered HTTP 500"),
        (
            lambda: Response("<html><body>Hi</body></html>", mimetype="text/html"),
            "root element is <html>",
        ),
        (lambda: Response("Hello there", mimetype="text/plain"), "not XML"),
        (lambda: Response("", mimetype="text/xml"), "the document is empty"),
        ("<Speak>hi</Speak>", "<Speak> is not a TwiML verb"),
        ('<Gather timeout="soon"/>', "is not a whole number"),
        ("<Gather><Dial>+1</Dial></Gather>", "cannot be nested in <Gather>"),
        ('<Reject reason="later"/>', "must be rejected or busy"),
        ("<Redirect>https://elsewhere.example/x</Redirect>", "not served by this app"),
        (_crash, "answered HTTP 500"),
    ],
)
def test_interpreter_bad_app_ends_with_error_not_exception(page: Page, message: str) -> None:
    """Non-2xx answers, non-TwiML and invalid TwiML end the call with an error event."""
    transcript, _ = simulate({"/voice": page})
    assert transcript.end_reason is EndReason.ERROR
    (error,) = transcript.errors()
    assert message in error.message


def test_flask_transport_turns_a_propagated_exception_into_a_500() -> None:
    """With exceptions propagating (app.testing), the crash is logged and answered as a 500."""
    app, _ = make_app({"/voice": _crash})
    app.testing = True
    simulator = CallSimulator(
        FlaskTransport(app, BASE), account_sid=ACCOUNT, auth_token=TOKEN, url=f"{BASE}/voice"
    )
    transcript = simulator.run()
    assert transcript.end_reason is EndReason.ERROR
    assert transcript.requests()[0].status == 500


def test_interpreter_missing_page_is_an_error() -> None:
    """A 404 from an action URL ends the call with an error."""
    transcript, _ = simulate({"/voice": '<Gather action="/nowhere"/>'}, "press 1#")
    assert transcript.end_reason is EndReason.ERROR
    assert "answered HTTP 404" in transcript.errors()[0].message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"account_sid": "XX1"}, "account_sid"),
        ({"auth_token": ""}, "auth_token"),
        ({"url": "/voice"}, "absolute"),
        ({"status_callback": "status"}, "absolute"),
        ({"script": "jump 2"}, "unknown step"),
        ({"method": "PUT"}, "method"),
        ({"status_callback_events": ["hangup"]}, "unknown status callback events"),
        ({"call_sid": "XX"}, "call_sid"),
    ],
)
def test_simulator_refuses_bad_arguments(options: dict[str, Any], message: str) -> None:
    """Programmer errors raise at once."""
    app, _ = make_app({})
    arguments: dict[str, Any] = {"account_sid": ACCOUNT, "auth_token": TOKEN, "url": f"{BASE}/v"}
    with pytest.raises(ValueError, match=message):
        CallSimulator(FlaskTransport(app, BASE), **(arguments | options))


@pytest.mark.parametrize(
    "limits",
    [{"max_steps": 0}, {"max_seconds": 0}, {"max_queue_rounds": 0}, {"patience": -1}],
)
def test_limits_refuse_nonsense(limits: dict[str, Any]) -> None:
    """Limits must allow at least one step, some time and one queue round."""
    with pytest.raises(ValueError, match="must"):
        Limits(**limits)


# Status callback and transcript


def test_status_callbacks_carry_sequence_numbers() -> None:
    """Each status callback has the next SequenceNumber; `completed` has CallDuration."""
    pages = {"/voice": '<Say>Hello</Say><Pause length="10"/>', "/status": "<Response/>"}
    transcript, seen = simulate(
        pages,
        status_callback=f"{BASE}/status",
        status_callback_events=["initiated", "ringing", "answered", "completed"],
    )
    callbacks = [item.form for item in seen if item.path == "/status"]
    assert [form["SequenceNumber"] for form in callbacks] == ["0", "1", "2", "3"]
    assert [form["CallStatus"] for form in callbacks] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    completed = callbacks[-1]
    assert completed["CallDuration"] == "10"
    assert completed["CallbackSource"] == "call-progress-events"
    assert email.utils.parsedate_to_datetime(completed["Timestamp"]).tzinfo is not None
    assert transcript.errors() == []


def test_status_callback_default_is_completed_only() -> None:
    """By default only the completed event is sent, with SequenceNumber 0."""
    pages = {"/voice": "<Say>Hello</Say>", "/status": "<Response/>"}
    _, seen = simulate(pages, status_callback=f"{BASE}/status")
    assert [(item.path, item.form["SequenceNumber"]) for item in seen[1:]] == [("/status", "0")]


def test_transcript_render_reads_like_a_call() -> None:
    """The rendered transcript is one timed line per event."""
    pages = {
        "/voice": '<Say language="tr" voice="Google.tr-TR-Wavenet-A">Merhaba</Say>'
        '<Gather numDigits="1" action="/step"><Say>Bir icin bire basin</Say></Gather>',
        "/step": "<Hangup/>",
    }
    transcript, _ = simulate(pages, "press 1")
    assert transcript.render().splitlines() == [
        "[00:00] → POST /voice [voice] 200",
        '[00:00] hears (tr, Google.tr-TR-Wavenet-A): "Merhaba"',
        '[00:00] hears (en-US, man): "Bir icin bire basin"',
        "[00:02] presses 1",
        "[00:02] → POST /step [gather action] 200",
        "[00:02] call ends, hangup by TwiML",
    ]
    assert transcript.urls() == [f"POST {BASE}/voice", f"POST {BASE}/step"]


# Real HTTP


@pytest.fixture
def http_base() -> Iterator[tuple[str, list[Seen]]]:
    """The test app on a real HTTP server on 127.0.0.1 (ephemeral port), stopped afterwards."""
    app, seen = make_app(
        {
            "/voice": lambda: redirect("/menu", code=307),
            "/menu": lambda: twiml(
                "<Say>Thanks</Say>"
                if request.form.get("Digits")
                else '<Gather numDigits="1"><Say>Press 1</Say></Gather>'
            ),
        }
    )
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_transport_places_a_call_over_loopback(http_base: tuple[str, list[Seen]]) -> None:
    """The same call works over real HTTP: form posts, a 307 redirect, signatures intact."""
    base, seen = http_base
    transcript = CallSimulator(
        HttpTransport(timeout=5),
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        url=f"{base}/voice",
        script="press 1",
    ).run()
    assert transcript.errors() == [], transcript.render()
    assert paths(seen) == ["POST /voice", "POST /menu", "POST /menu"]
    assert said(transcript) == ["Press 1", "Thanks"]
    assert transcript.end_reason is EndReason.END_OF_DOCUMENT


def test_http_transport_no_server_is_an_error_event() -> None:
    """Nobody listening: the call ends with an error event, not an exception."""
    server = make_server("127.0.0.1", 0, Flask(__name__))
    port = server.server_port
    server.server_close()
    transcript = CallSimulator(
        HttpTransport(timeout=2),
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        url=f"http://127.0.0.1:{port}/voice",
    ).run()
    assert transcript.end_reason is EndReason.ERROR
    assert "127.0.0.1" in transcript.errors()[0].message
    assert transcript.requests()[0].status is None
