// Pure helpers of the practice phone: how a control API event reads, which keys count.
// No DOM here, so they can be tested on their own.

export const KEYS = "0123456789*#";

const URL_ORIGIN = /\bhttps?:\/\/[^/\s"]+(?=\/)/g;

/** Show URLs as their path (and query): "→ POST http://h:5000/voice/step?n=x" → "→ POST /voice/step?n=x". */
export function pathOnly(text) {
  return String(text ?? "").replace(URL_ORIGIN, "");
}

/** Seconds since the call began, as mm:ss. */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor(Number(seconds) || 0));
  const minutes = String(Math.floor(whole / 60)).padStart(2, "0");
  return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
}

/** The key a keyboard event stands for ("0"-"9", "*", "#"), or null. */
export function keyOf(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const key = event.key;
  return typeof key === "string" && key.length === 1 && KEYS.includes(key) ? key : null;
}

/** True when `url` is an absolute http(s) URL on one of `origins`. */
export function playable(url, origins) {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") &&
      origins.includes(parsed.origin);
  } catch {
    return false;
  }
}

function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/**
 * How one event reads: {kind, label, said, lang, audio, note}.
 * `label` is always set; `said` is the spoken text of a say prompt (in `lang`); `audio` the
 * URL of an audio prompt; `note` says it was cut short.
 */
export function describe(event) {
  const kind = event.kind || "note";
  const line = { kind, label: "", said: null, lang: null, audio: null, note: null };
  if (event.cut_after !== null && event.cut_after !== undefined) {
    line.note = `cut short after ${Number(event.cut_after).toFixed(1)} s`;
  }
  const detail = pathOnly(event.detail || "");
  switch (kind) {
    case "say": {
      const how = [event.language, event.voice].filter(Boolean).join(", ");
      line.label = how ? `Hears (${how})` : "Hears";
      line.said = event.text || "";
      line.lang = event.language || null;
      break;
    }
    case "play":
      line.label = `Audio prompt ${pathOnly(event.audio_url || "")}`;
      line.audio = event.audio_url || null;
      break;
    case "digits":
      line.label = `Hears tones ${event.text}`;
      break;
    case "beep":
      line.label = "Hears a beep";
      break;
    case "pressed":
      line.label = `Pressed ${event.text}`;
      break;
    case "request":
      line.label = `Request ${detail.replace(/^→\s*/, "")}`;
      break;
    case "error":
      line.label = `Error: ${event.text || detail}`;
      break;
    case "ended":
      line.label = `Call ended: ${event.text || detail}`;
      break;
    default:
      line.label = capital(detail || event.text || kind);
  }
  return line;
}

/** A readable message from an API answer: its {"error": ...}, else the status. */
export function errorText(status, body) {
  if (body && typeof body.error === "string" && body.error) return body.error;
  if (status === 0) return "the sandbox does not answer; is it still running?";
  return `the sandbox answered ${status}`;
}

/** What a staff phone's behaviour means, in words. */
export function behaviourText(behaviour) {
  const kind = behaviour && behaviour.kind;
  switch (kind) {
    case "human":
      return "answered here";
    case "answer":
      return `answers after ${behaviour.after} s` +
        (behaviour.keys ? `, presses ${behaviour.keys}` : "");
    case "no-answer":
      return "never answers";
    case "voicemail":
      return `voicemail after ${behaviour.after} s`;
    default:
      return kind || "unknown";
  }
}
