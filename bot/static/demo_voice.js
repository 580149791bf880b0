// The voice demo page (/demo/voice): a call as the borrower whose signed link the page was opened with; the call
// itself is demo_call.js.
"use strict";

const log = document.getElementById("log");
const button = document.getElementById("call");
let call = null;
// The page is opened with the borrower's signed link (?link=…), as the web chat is.
document.getElementById("link").value = new URLSearchParams(location.search).get("link") || "";

const note = (text, kind) => noteIn(log, text, kind);

function stopCall() {
  if (!call) return;
  call.stop();
  call = null;
  button.textContent = "开始通话";
}

button.addEventListener("click", async () => {
  if (call) return stopCall();
  button.disabled = true;
  try {
    const link = document.getElementById("link").value.trim();
    call = await startVoiceCall(`/voice/browser?borrower_link=${encodeURIComponent(link)}`, note, stopCall);
    button.textContent = "挂断";
  } catch (error) {
    note(`无法开始通话：${error.message}`, "notice");
  } finally {
    button.disabled = false;
  }
});
