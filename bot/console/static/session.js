// What every console page shares: element lookup, the JSON API call (cookie session) and safe element building.
// Loaded before the page's own script; a 401 calls that page's showLogin().
"use strict";

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const response = await fetch(path, {
    method, headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined, credentials: "same-origin",
  });
  let data = {};
  try { data = await response.json(); } catch (_) { /* empty body */ }
  if (response.status === 401 && path !== "/api/console/login") showLogin();
  return { ok: response.ok, status: response.status, data };
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// A conversation's call recording in `box`: an audio player streamed from the authenticated endpoint (left channel
// the borrower, right the bot). Nothing is fetched until play is pressed: every fetch is logged as a playback. The
// player is kept while the same recording is shown, so a page refreshing its data does not stop it.
function showRecording(box, recording, absentText) {
  const shown = box.dataset.recording || "";
  const wanted = recording ? String(recording.recording_id) : "";
  if (shown === wanted && box.childNodes.length) return;
  box.dataset.recording = wanted;
  if (!recording) {
    box.replaceChildren(el("span", absentText, "muted"));
    return;
  }
  const audio = document.createElement("audio");
  Object.assign(audio, { controls: true, preload: "none", src: recording.audio_url });
  const about = el("span", `${Math.round(recording.duration_seconds)} 秒 · 左声道借款人，右声道机器人 · 每次播放均留痕 · ` +
    `SHA-256 ${recording.sha256.slice(0, 12)}…`, "muted");
  box.replaceChildren(audio, el("br"), about);
}
