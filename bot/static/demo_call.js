// A voice call from the browser: microphone → 16 kHz PCM16 over the WebSocket; the bot's PCM16 is played back in
// order; a mark is returned once the audio before it has played (the server uses that to know what was heard);
// "clear" stops playback at once (barge-in); key(digit) sends a keypad key (DTMF). Used by the voice demo
// (/demo/voice) and the demo phone (/demo/phone).
"use strict";

const RATE = 16000;
const SPEAKERS = { bot: "助手", borrower: "我" };
// Why the server refused or cut a call (its `error` codes), in the borrower's words.
const CALL_PROBLEMS = {
  invalid_link: "链接无效或已过期，请向出借方索取新的专属链接。",
  rate_limited: "呼叫太频繁，请稍后再试。",
  too_many_connections: "本机打开的通话太多，请先挂断其他通话。",
  no_such_ring: "这个来电已不在响铃。",
};
// How a call the server ended came to end (its `end` reasons).
const CALL_ENDINGS = {
  conversation_ended: "通话已结束。",
  silence: "长时间没有听到您的声音，通话已结束。",
  transferred: "正在为您转接人工客服。",
};

// A line of the call's transcript: what the bot said, what was heard, a notice. Text only, never HTML.
function noteIn(transcript, text, kind) {
  const line = document.createElement("p");
  line.className = `line ${kind}`;
  if (SPEAKERS[kind]) {
    const speaker = document.createElement("span");
    speaker.className = "speaker";
    speaker.textContent = SPEAKERS[kind];
    line.appendChild(speaker);
  }
  line.appendChild(document.createTextNode(text));
  transcript.appendChild(line);
  transcript.scrollTop = transcript.scrollHeight;
}

// Why the call could not start (the microphone refused or missing, the audio worklet not loaded).
function callStartProblem(error) {
  if (error.name === "NotAllowedError") return "无法开始通话：请允许本页使用麦克风。";
  if (error.name === "NotFoundError") return "无法开始通话：没有找到麦克风。";
  return `无法开始通话：${error.message}`;
}

// socketPath: e.g. "/voice/browser?borrower_link=…". note(text, kind) shows what was said; onAnswered() once the
// server speaks; onEnded(problem) when the server ends the call: problem is why it was refused or cut, or null when
// it ended as calls do (its `end` message came first).
async function startVoiceCall(socketPath, { note, onAnswered, onEnded }) {
  const context = new AudioContext({ sampleRate: RATE });
  let microphone;
  try {
    await context.audioWorklet.addModule("/demo/voice/microphone-worklet.js");
    microphone = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (error) {
    context.close();
    throw error;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${socketPath}`);
  socket.binaryType = "arraybuffer";
  const worklet = new AudioWorkletNode(context, "microphone-to-pcm16");
  context.createMediaStreamSource(microphone).connect(worklet);
  worklet.port.onmessage = (event) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(event.data);
  };

  const playing = new Set();
  let playUntil = 0;
  let answered = false;
  let ended = false;
  let problem = null;

  function play(buffer) {
    const pcm = new Int16Array(buffer);
    const audio = context.createBuffer(1, pcm.length, RATE);
    const samples = audio.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 0x8000;
    const source = context.createBufferSource();
    source.buffer = audio;
    source.connect(context.destination);
    playUntil = Math.max(playUntil, context.currentTime);
    source.start(playUntil);
    playUntil += audio.duration;
    playing.add(source);
    source.onended = () => playing.delete(source);
  }

  function clearPlayback() {
    for (const source of playing) source.stop();
    playing.clear();
    playUntil = context.currentTime;
  }

  function answer() {
    if (answered) return;
    answered = true;
    onAnswered();
  }

  socket.onmessage = (event) => {
    if (typeof event.data !== "string") {
      answer();
      return play(event.data);
    }
    const message = JSON.parse(event.data);
    if (message.type === "mark") {
      const wait = Math.max(0, playUntil - context.currentTime) * 1000;
      setTimeout(() => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message)), wait);
    } else if (message.type === "clear") {
      clearPlayback();
    } else if (message.type === "bot") {
      answer();
      note(message.text, "bot");
    } else if (message.type === "transcript") {
      note(message.text, "borrower");
    } else if (message.type === "end") {
      ended = true;
      note(CALL_ENDINGS[message.reason] || `通话已结束（${message.reason}）。`, "notice");
    } else if (message.type === "error") {
      // Before the call is answered an error is a refusal (the server closes next); during it, one message the
      // server could not take, and the call goes on.
      const text = CALL_PROBLEMS[message.error] || `出错了：${message.error}`;
      if (answered) note(text, "notice");
      else problem = text;
    }
  };
  socket.onclose = () => {
    if (!answered) onEnded(problem || "未能接通，请稍后再试。");
    else onEnded(ended ? null : "通话意外中断，请稍后再试。");
  };

  return {
    key(digit) {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "dtmf", digit }));
    },
    stop() {
      socket.onclose = null;
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
      socket.close();
      microphone.getTracks().forEach((track) => track.stop());
      context.close();
    },
  };
}
