// The demo phone (/demo/phone): calls the campaign worker placed while no carrier is configured ring here; answer
// one to talk to the bot with the microphone (demo_call.js), or decline it. Text only, never HTML.
"use strict";

const POLL_MS = 2000;
const log = document.getElementById("log");
const hangUp = document.getElementById("hang-up");
const statusLine = document.getElementById("status");
const keypad = document.getElementById("keypad");
let call = null;

const note = (text, kind) => noteIn(log, text, kind);

// problem: why the call was refused or cut, or null.
function endCall(problem) {
  if (!call) return;
  call.stop();
  call = null;
  hangUp.hidden = true;
  statusLine.dataset.state = problem ? "problem" : "";
  statusLine.textContent = problem || "通话已结束";
  keypad.hidden = true;
}

async function answer(ring) {
  try {
    call = await startVoiceCall(`/voice/demo-phone?attempt=${encodeURIComponent(ring.attempt_id)}`, {
      note,
      onAnswered: () => {
        statusLine.dataset.state = "in-call";
        statusLine.textContent = "通话中";
      },
      onEnded: endCall,
    });
    hangUp.hidden = false;
    statusLine.dataset.state = "";
    statusLine.textContent = "正在接通…";
    keypad.hidden = false;
    note(`已接听：${ring.borrower_id}（${ring.number}）`, "notice");
  } catch (error) {
    note(callStartProblem(error), "notice");
  }
}

async function decline(ring) {
  await fetch(`/demo/phone/rings/${encodeURIComponent(ring.attempt_id)}/decline`, { method: "POST" });
  note(`已拒接：${ring.borrower_id}`, "notice");
  await refresh();
}

function ringItem(ring) {
  const item = document.createElement("li");
  item.textContent = `来电：${ring.borrower_id} 的手机（${ring.number}）· 已响 ${ring.ringing_seconds} 秒`;
  const pick = document.createElement("button");
  pick.textContent = "接听";
  pick.disabled = call !== null;
  pick.addEventListener("click", () => answer(ring));
  const reject = document.createElement("button");
  reject.textContent = "拒接";
  reject.className = "decline";
  reject.addEventListener("click", () => decline(ring));
  item.append(pick, reject);
  return item;
}

async function refresh() {
  const response = await fetch("/demo/phone/rings");
  if (!response.ok) return;
  const rings = (await response.json()).rings;
  document.getElementById("count").textContent = `(${rings.length})`;
  document.getElementById("rings").replaceChildren(...rings.map(ringItem));
}

hangUp.addEventListener("click", () => endCall(null));
for (const button of keypad.querySelectorAll("button")) {
  button.addEventListener("click", () => call && call.key(button.textContent));
}
refresh();
setInterval(refresh, POLL_MS);
