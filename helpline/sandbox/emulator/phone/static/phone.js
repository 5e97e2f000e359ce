// The practice phone: a caller's keypad and transcript, and the staff phones, driven
// through the sandbox's control API (/sandbox/api) on this page's own origin.

import {
  KEYS, behaviourText, clock, describe, errorText, keyOf, playable,
} from "./transcript.js";

const CALL_POLL_MS = 400;
const PHONES_POLL_MS = 1000;
const REFETCH = 12; // events asked for again, so a prompt cut short after it was listed shows it
const RETRY_MS = 2000;
const FINAL_POLL_MS = 1000;
const QUIET = new Set(["", "queued", "running TwiML", "ended"]); // what a leg is doing, not worth saying

const $ = (id) => document.getElementById(id);

class ApiError extends Error {}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(errorText(0, null));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(errorText(response.status, data));
  return data;
}

function show(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}

function el(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  if (text !== null) node.textContent = text;
  return node;
}

// Audio prompts, played one after another (as the caller hears them) when asked to.

const player = {
  queue: [],
  current: null,
  enqueue(audio) {
    this.queue.push(audio);
    if (!this.current) this.next();
  },
  next() {
    this.current = this.queue.shift() || null;
    if (!this.current) return;
    const audio = this.current;
    audio.addEventListener("ended", () => this.next(), { once: true });
    audio.play().catch(() => {
      showError("The browser did not play the prompt by itself: use its play button.");
      this.next();
    });
  },
  stop() {
    for (const audio of [this.current, ...this.queue]) if (audio) audio.pause();
    this.queue = [];
    this.current = null;
  },
};

// The caller

const call = {
  sid: null,
  last: -1,
  lines: new Map(), // event index -> {li, note}
  timer: null,
  ended: true,
  endReason: null,
};

function showError(message) {
  show($("error"), message);
}

function setCalling(live) {
  const focused = document.activeElement;
  call.ended = !live;
  $("call").disabled = live;
  $("hangup").disabled = !live;
  for (const button of document.querySelectorAll(".keypad .key")) button.disabled = !live;
  // A control that was just disabled loses the focus: give it to Call, not to the page.
  if (!live && focused instanceof HTMLButtonElement && focused.disabled) $("call").focus();
}

function audioOrigins() {
  const origins = [window.location.origin];
  const app = document.body.dataset.appOrigin;
  if (app) origins.push(app);
  return origins;
}

function renderLine(event) {
  const line = describe(event);
  const li = el("li", { class: `ev ev-${line.kind}`, dir: "auto" });
  li.append(el("span", { class: "at" }, clock(event.at)), " ");
  li.append(el("span", { class: "what" }, line.label));
  const note = el("span", { class: "note" }, line.note ? ` (${line.note})` : "");
  li.append(note);
  if (line.said !== null) {
    li.append(el("p", { class: "said", dir: "auto", lang: line.lang }, line.said));
  }
  let audio = null;
  if (line.audio) {
    if (playable(line.audio, audioOrigins())) {
      audio = el("audio", { controls: "", preload: "none", src: line.audio });
      audio.setAttribute("aria-label", `Play ${line.label}`);
      li.append(audio);
    } else {
      li.append(el("p", { class: "hint" }, "Not played here: the audio is not on the helpline."));
    }
  }
  return { li, note, audio };
}

function addEvents(events) {
  const list = $("transcript");
  const box = list;
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  for (const event of events) {
    const known = call.lines.get(event.index);
    if (known) {
      const note = describe(event).note;
      if (note && known.note.textContent === "") known.note.textContent = ` (${note})`;
      continue;
    }
    const rendered = renderLine(event);
    call.lines.set(event.index, rendered);
    list.append(rendered.li);
    if (event.kind === "ended") call.endReason = event.text;
    if (event.kind === "pressed" || event.kind === "ended") player.stop();
    if (rendered.audio && $("play-audio").checked) player.enqueue(rendered.audio);
  }
  $("transcript-empty").hidden = call.lines.size > 0;
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function statusText(body) {
  if (body.ended) return `Call ended (${call.endReason || body.status}).`;
  const doing = QUIET.has(body.doing) ? "" : `, ${body.doing}`;
  return `In a call (${body.status}${doing}).`;
}

async function poll() {
  const sid = call.sid;
  if (!sid) return;
  try {
    const after = Math.max(-1, call.last - REFETCH);
    const body = await api("GET", `/sandbox/api/calls/${encodeURIComponent(sid)}?after=${after}`);
    if (sid !== call.sid) return;
    addEvents(body.events);
    call.last = Math.max(call.last, body.last);
    $("call-status").textContent = statusText(body);
    if (body.ended) {
      if (!call.ended) {
        setCalling(false);
        // Once more, a moment later: the last status callback is sent after the end.
        call.timer = setTimeout(poll, FINAL_POLL_MS);
      }
      return;
    }
    call.timer = setTimeout(poll, CALL_POLL_MS);
  } catch (error) {
    if (sid !== call.sid) return;
    showError(`Following the call: ${error.message}`);
    call.timer = setTimeout(poll, RETRY_MS);
  }
}

async function placeCall(event) {
  event.preventDefault();
  showError("");
  const from = $("from").value.trim();
  if (!from) {
    showError("Calling from: type a number such as +905321112233, or anonymous.");
    $("from").focus();
    return;
  }
  player.stop();
  clearTimeout(call.timer);
  call.sid = null;
  $("call").disabled = true;
  try {
    const body = await api("POST", "/sandbox/api/calls", { from });
    call.sid = body.sid;
    call.last = -1;
    call.endReason = null;
    call.lines.clear();
    $("transcript").replaceChildren();
    $("transcript-empty").hidden = false;
    $("call-status").textContent = "Calling the helpline…";
    setCalling(true);
    poll();
  } catch (error) {
    $("call").disabled = false;
    showError(`Could not place the call: ${error.message}`);
  }
}

async function press(key) {
  if (!call.sid || call.ended) {
    showError("There is no call to press keys on: press Call first.");
    return;
  }
  const button = document.querySelector(`.keypad .key[data-key="${CSS.escape(key)}"]`);
  if (button) {
    button.classList.add("down");
    setTimeout(() => button.classList.remove("down"), 150);
  }
  player.stop();
  try {
    await api("POST", `/sandbox/api/calls/${encodeURIComponent(call.sid)}/digits`, { digits: key });
    showError("");
  } catch (error) {
    showError(`Key ${key} did not reach the call: ${error.message}`);
  }
}

async function hangUp() {
  if (!call.sid) return;
  player.stop();
  try {
    await api("POST", `/sandbox/api/calls/${encodeURIComponent(call.sid)}/hangup`);
  } catch (error) {
    if (!call.ended) showError(`Could not hang up: ${error.message}`);
  }
}

function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
}

// Staff phones

const phones = new Map(); // number -> {li, state, ...}
let phonesTimer = null;

function phoneControls(phone) {
  const number = phone.number;
  const actions = el("div", { class: "actions" });
  const answer = el("button", { type: "button", "aria-label": `Answer ${number}` }, "Answer");
  const decline = el("button", { type: "button", class: "secondary", "aria-label": `Decline ${number}` }, "Decline");
  const hangup = el("button", { type: "button", class: "danger", "aria-label": `Hang up ${number}` }, "Hang up");
  answer.addEventListener("click", () => phoneAction(number, "answer"));
  decline.addEventListener("click", () => phoneAction(number, "decline"));
  hangup.addEventListener("click", () => phoneAction(number, "hangup"));
  actions.append(answer, decline, hangup);
  const keypad = el("div", { class: "mini-keypad", role: "group", "aria-label": `Keypad of ${number}` });
  const keys = [];
  for (const key of KEYS.slice(1, 10) + "*0#") {
    const name = key === "*" ? "star" : key === "#" ? "hash" : key;
    const button = el("button", { type: "button", class: "key", "aria-label": `Press ${name} on ${number}` }, key);
    button.addEventListener("click", () => phoneAction(number, "digits", key));
    keypad.append(button);
    keys.push(button);
  }
  return { actions, keypad, answer, decline, hangup, keys };
}

function renderPhone(phone) {
  const li = el("li", { class: "phone" });
  const head = el("div", { class: "phone-head" });
  const state = el("span", { class: "badge" });
  head.append(el("span", { class: "number" }, phone.number), " ", state);
  const behaviour = el("small", { class: "behaviour" });
  li.append(head, behaviour);
  const entry = { li, state, behaviour, controls: null, heard: null, sid: null, last: -1, following: false };
  phones.set(phone.number, entry);
  $("phones").append(li);
  return entry;
}

function updatePhone(phone) {
  const entry = phones.get(phone.number) || renderPhone(phone);
  const human = phone.behaviour.kind === "human";
  if (entry.state.textContent !== phone.state) {
    if (phone.state === "ringing" && human) $("phones-status").textContent = `Phone ${phone.number} is ringing.`;
    entry.state.textContent = phone.state;
    entry.li.className = `phone state-${phone.state}`;
  }
  entry.behaviour.textContent = behaviourText(phone.behaviour);
  if (human && !entry.controls) {
    entry.controls = phoneControls(phone);
    entry.heard = el("ol", { class: "lines phone-lines", "aria-label": `What ${phone.number} hears` });
    entry.li.append(entry.controls.actions, entry.controls.keypad, entry.heard);
  } else if (!human && entry.controls) {
    entry.controls.actions.remove();
    entry.controls.keypad.remove();
    entry.heard.remove();
    entry.controls = null;
    entry.heard = null;
  }
  if (entry.controls) {
    const { answer, decline, hangup, keys } = entry.controls;
    answer.disabled = phone.state !== "ringing";
    decline.disabled = phone.state !== "ringing";
    hangup.disabled = phone.state === "idle";
    for (const key of keys) key.disabled = phone.state !== "in-call";
    if (phone.call_sid && phone.call_sid !== entry.sid) {
      entry.sid = phone.call_sid;
      entry.last = -1;
      entry.heard.replaceChildren();
    }
    if (entry.sid) followPhoneCall(entry);
  }
}

async function followPhoneCall(entry) {
  const sid = entry.sid;
  if (entry.following) return;
  entry.following = true;
  try {
    const body = await api("GET", `/sandbox/api/calls/${encodeURIComponent(sid)}?after=${entry.last}`);
    if (sid !== entry.sid) return;
    for (const event of body.events) {
      if (!["say", "play", "digits", "beep", "pressed", "connected", "ended"].includes(event.kind)) continue;
      const rendered = renderLine(event);
      entry.heard.append(rendered.li);
    }
    entry.last = body.last;
    if (body.ended) entry.sid = null;
  } catch {
    // The phone's call may be forgotten by now; the list shows the phone's state anyway.
  } finally {
    entry.following = false;
  }
}

async function refreshPhones() {
  try {
    const body = await api("GET", "/sandbox/api/phones");
    show($("phones-error"), "");
    for (const phone of body.phones) updatePhone(phone);
    $("phones-empty").hidden = body.phones.length > 0;
  } catch (error) {
    show($("phones-error"), `Staff phones: ${error.message}`);
  }
  phonesTimer = setTimeout(refreshPhones, PHONES_POLL_MS);
}

async function phoneAction(number, action, digits) {
  try {
    const path = `/sandbox/api/phones/${encodeURIComponent(number)}/${action}`;
    const phone = await api("POST", path, digits === undefined ? undefined : { digits });
    show($("phones-error"), "");
    updatePhone(phone);
  } catch (error) {
    show($("phones-error"), `${number}: ${error.message}`);
  }
}

async function addPhone(event) {
  event.preventDefault();
  const number = $("phone-number").value.trim();
  if (!number) {
    show($("phones-error"), "Type the phone's number, such as +905550000183.");
    $("phone-number").focus();
    return;
  }
  try {
    const phone = await api("POST", "/sandbox/api/phones", { number, behaviour: "human" });
    show($("phones-error"), "");
    updatePhone(phone);
    $("phones-empty").hidden = true;
    $("phones-status").textContent = `Phone ${number} now rings here.`;
    $("phone-number").value = "";
  } catch (error) {
    show($("phones-error"), `Could not add the phone: ${error.message}`);
  }
}

function start() {
  $("call-form").addEventListener("submit", placeCall);
  $("sample").addEventListener("change", () => {
    $("from").value = $("sample").value;
  });
  $("hangup").addEventListener("click", hangUp);
  for (const button of document.querySelectorAll(".keypad .key")) {
    button.addEventListener("click", () => press(button.dataset.key));
  }
  document.addEventListener("keydown", (event) => {
    const key = keyOf(event);
    if (key === null || typing(event.target)) return;
    event.preventDefault();
    press(key);
  });
  $("play-audio").addEventListener("change", () => {
    if (!$("play-audio").checked) player.stop();
  });
  $("phone-form").addEventListener("submit", addPhone);
  refreshPhones();
  document.body.dataset.ready = "true";
}

start();
