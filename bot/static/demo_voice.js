// The voice demo page (/demo/voice?link=…): a call as the borrower the signed link names, as the web chat takes
// its borrower (never from a bare id: anyone could type someone else's); the call itself is demo_call.js.
"use strict";

const link = new URLSearchParams(location.search).get("link");
const button = document.getElementById("call");
const statusLine = document.getElementById("status");
const transcript = document.getElementById("transcript");
const BUTTON_TEXT = { idle: "开始通话", starting: "正在接通…", "in-call": "挂断" };
let call = null;

// idle: a call can start; starting: the microphone and the socket are being opened; in-call: a call is up (or
// being answered) and the button hangs up.
function showButton(state) {
  button.dataset.state = state;
  button.textContent = BUTTON_TEXT[state];
  button.disabled = state === "starting";
}

// kind: "", in-call or problem (how the status line looks).
function showStatus(text, kind = "") {
  statusLine.dataset.state = kind;
  statusLine.textContent = text;
}

function hangUp(problem) {
  if (call) call.stop();
  call = null;
  showButton("idle");
  if (problem) showStatus(problem, "problem");
  else showStatus("通话已结束");
}

async function startCall() {
  transcript.replaceChildren();
  showButton("starting");
  showStatus("正在接通…");
  try {
    call = await startVoiceCall(`/voice/browser?borrower_link=${encodeURIComponent(link)}`, {
      note: (text, kind) => noteIn(transcript, text, kind),
      onAnswered: () => showStatus("通话中", "in-call"),
      onEnded: hangUp,
    });
    showButton("in-call");
  } catch (error) {
    showButton("idle");
    showStatus(callStartProblem(error), "problem");
  }
}

if (!link) {
  document.getElementById("missing-link").hidden = false;
  button.disabled = true;
  showStatus("缺少专属链接，无法通话", "problem");
} else {
  button.addEventListener("click", () => (call ? hangUp(null) : startCall()));
}
