// A voice call from the browser: microphone → 16 kHz PCM16 over the WebSocket; the bot's PCM16 is played back in
// order; a mark is returned once the audio before it has played (the server uses that to know what was heard);
// "clear" stops playback at once (barge-in); key(digit) sends a keypad key (DTMF). Used by the voice demo
// (/demo/voice) and the demo phone (/demo/phone).
"use strict";

const RATE = 16000;

// A line of the call's log: what the bot said, what was heard, a notice. Text only, never HTML.
function noteIn(log, text, kind) {
  const line = document.createElement("p");
  line.className = kind;
  line.textContent = text;
  log.appendChild(line);
  line.scrollIntoView();
}

// socketPath: e.g. "/voice/browser?borrower_link=…"; note(text, kind) shows what was said; onClose() when it ends.
async function startVoiceCall(socketPath, note, onClose) {
  const context = new AudioContext({ sampleRate: RATE });
  await context.audioWorklet.addModule("/demo/voice/microphone-worklet.js");
  const microphone = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
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

  socket.onmessage = (event) => {
    if (typeof event.data !== "string") return play(event.data);
    const message = JSON.parse(event.data);
    if (message.type === "mark") {
      const wait = Math.max(0, playUntil - context.currentTime) * 1000;
      setTimeout(() => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message)), wait);
    } else if (message.type === "clear") {
      clearPlayback();
    } else if (message.type === "bot") {
      note(message.text, "bot");
    } else if (message.type === "transcript") {
      note(message.text, "borrower");
    } else if (message.type === "end") {
      note(`通话结束（${message.reason}）`, "notice");
    } else if (message.type === "error") {
      note(`错误：${message.error}`, "notice");
    }
  };
  socket.onclose = () => onClose();

  return {
    key(digit) {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "dtmf", digit }));
    },
    stop() {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
      socket.close();
      microphone.getTracks().forEach((track) => track.stop());
      context.close();
    },
  };
}

