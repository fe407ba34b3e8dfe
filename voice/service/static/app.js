// The kiosk page: the microphone streams to the WebSocket /api/listen; replies are played
// aloud and captioned. The protocol is described in docs/protocol.md ("WebSocket
// /api/listen"). No inline script or style (the Content-Security-Policy
// forbids them) and nothing is loaded from outside this service.
//
// Page options, in its URL: ?mode=always|push|wake (how a question starts; the server's
// default is "always"), ?end_silence=SECONDS (the silence that ends a question),
// ?idle=SECONDS (return to the start screen after this long without speech or a press;
// 120 by default).
//
// Captions: the answer stays on screen (#answer) while what is said after it (how to hear
// more, related questions, topics, "You're welcome.") is shown below it (#prompt); only a
// new answer, a confirmation question, a fallback or an emergency replaces it, by the speak
// event's kind (docs/protocol.md). #answer's data-kind says which it holds.
//
// For tests and styling, <body> carries data-state, data-decision, data-entry,
// data-started (replies that began playing), data-played (replies played to the end) and
// data-stopped (replies cut short).
"use strict";

const params = new URLSearchParams(location.search);
const IDLE_S = positiveNumber(params.get("idle"), 120);
const MAX_BUFFERED_BYTES = 1 << 20; // stop sending audio if the network cannot keep up

const page = {
  body: document.body,
  title: document.getElementById("title"),
  status: document.getElementById("status"),
  talk: document.getElementById("talk"),
  captions: document.getElementById("captions"),
  heard: document.getElementById("heard"),
  answer: document.getElementById("answer"),
  prompt: document.getElementById("prompt"),
  offer: document.getElementById("offer"),
  offerTitle: document.getElementById("offer-title"),
  choices: document.getElementById("choices"),
};
const START_STATUS = page.status.textContent;
const OFFER_TITLES = { confirm: "Do you mean", help: "Topics", follow_up: "You could also ask" };
const MAIN_KINDS = new Set(["answer", "confirm", "fallback", "emergency"]);
const NOTHING_SAID = Object.freeze({ main: "", mainKind: "", details: "", prompt: "", promptKind: "" });

let session = null;
let idleTimer = null;
let said = NOTHING_SAID; // what the assistant's captions show

function positiveNumber(value, fallback) {
  const number = Number(value);
  return value !== null && Number.isFinite(number) && number > 0 ? number : fallback;
}

function count(name) {
  page.body.dataset[name] = String(Number(page.body.dataset[name] || "0") + 1);
}

function setStatus(text, isError = false) {
  page.status.textContent = text;
  page.body.dataset.error = isError ? "true" : "false";
}

function setState(state) {
  page.body.dataset.state = state;
  const labels = {
    start: "Start",
    connecting: "Starting…",
    listening: session && session.mode === "push" ? "Press, then ask" : "Listening: ask now",
    hearing: "Hearing you…",
    thinking: "One moment…",
    speaking: "Speaking: press to stop",
  };
  page.talk.textContent = labels[state] || "Start";
}

function caption(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

// The captions once the assistant says `text`: the answer stays until another answer, a
// confirmation question, a fallback or an emergency; "more" (details) follows the answer.
function spoken(kind, text) {
  if (MAIN_KINDS.has(kind)) {
    said = { ...NOTHING_SAID, main: text, mainKind: kind };
  } else if (kind === "details" && said.mainKind === "answer") {
    said = { ...said, details: text, prompt: "", promptKind: "" };
  } else if (kind === "details") {
    said = { ...NOTHING_SAID, main: text, mainKind: kind };
  } else {
    said = { ...said, prompt: text, promptKind: kind };
  }
  if (kind === "emergency") {
    showOffer(null); // the emergency takes the whole screen
  }
  showSaid();
}

function showSaid() {
  // With no answer to keep, what is said is the main caption.
  const held = said.main !== "";
  caption(page.answer, held ? [said.main, said.details].filter(Boolean).join("\n\n") : said.prompt);
  page.answer.dataset.kind = held ? said.mainKind : said.promptKind;
  caption(page.prompt, held ? said.prompt : "");
}

function clearScreen() {
  caption(page.heard, "");
  said = NOTHING_SAID;
  showSaid();
  showOffer(null);
  delete page.body.dataset.decision;
  delete page.body.dataset.entry;
}

function showOffer(offer) {
  page.choices.replaceChildren();
  if (!offer || offer.choices.length === 0) {
    page.offer.hidden = true;
    return;
  }
  page.offerTitle.textContent = OFFER_TITLES[offer.kind] || "Choices";
  for (const choice of offer.choices) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = choice.question;
    button.addEventListener("click", () => choose(choice.entry_id));
    page.choices.append(button);
  }
  page.offer.hidden = false;
}

function touch() {
  clearTimeout(idleTimer);
  idleTimer = session ? setTimeout(onIdle, IDLE_S * 1000) : null;
}

function onIdle() {
  if (!session) {
    return;
  }
  if (session.speaking()) {
    touch(); // never cut an answer short for being idle
    return;
  }
  endSession(START_STATUS);
}

function endSession(statusText, isError = false) {
  const ending = session;
  session = null;
  clearTimeout(idleTimer);
  if (ending) {
    ending.close();
  }
  clearScreen();
  setState("start");
  setStatus(statusText, isError);
}

// One conversation: the microphone, the socket and the reply player. Forgotten on idle.
class Session {
  constructor() {
    this.mode = params.get("mode") || "always";
    this.context = null;
    this.stream = null;
    this.socket = null;
    this.queue = []; // replies waiting to be played: {speak, buffer: Promise<AudioBuffer>}
    this.current = null;
    this.expectWav = null; // the speak event whose WAV is the next binary frame
    this.waiting = []; // messages to send once the server is ready
    this.ready = false;
    this.closing = false;
    this.resetWhenQuiet = false;
  }

  async start() {
    // Made inside the press's handler: browsers let a page play sound only after a gesture.
    this.context = new AudioContext();
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    await this.context.audioWorklet.addModule("/static/mic-worklet.js");
    if (this.closing) {
      return;
    }
    const source = this.context.createMediaStreamSource(this.stream);
    // Two 7 kHz low-pass stages: the worklet's decimation to 16 kHz then aliases nothing audible.
    const lowPass = () => new BiquadFilterNode(this.context, { type: "lowpass", frequency: 7000, Q: 0.7071 });
    const mic = new AudioWorkletNode(this.context, "mic-16k", { numberOfInputs: 1, numberOfOutputs: 0 });
    mic.port.onmessage = (event) => this.sendAudio(event.data);
    source.connect(lowPass()).connect(lowPass()).connect(mic);

    const query = new URLSearchParams();
    for (const name of ["mode", "end_silence"]) {
      if (params.has(name)) {
        query.set(name, params.get(name));
      }
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const suffix = query.toString() ? `?${query}` : "";
    this.socket = new WebSocket(`${scheme}://${location.host}/api/listen${suffix}`);
    this.socket.binaryType = "arraybuffer";
    this.socket.addEventListener("message", (event) => this.onMessage(event.data));
    this.socket.addEventListener("close", (event) => this.onClose(event));
  }

  send(message) {
    if (!this.ready) {
      this.waiting.push(message);
    } else if (this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  sendAudio(buffer) {
    const socket = this.socket;
    if (this.ready && socket.readyState === WebSocket.OPEN && socket.bufferedAmount < MAX_BUFFERED_BYTES) {
      socket.send(buffer);
    }
  }

  onMessage(data) {
    if (typeof data !== "string") {
      const speak = this.expectWav;
      this.expectWav = null;
      if (speak) {
        this.enqueue(speak, data);
      }
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    const handler = EVENTS[message.type];
    if (handler) {
      handler(this, message);
    }
  }

  onClose(event) {
    if (this.closing || session !== this) {
      return;
    }
    const busy = event.code === 1013;
    const reason = event.reason ? ` (${event.reason})` : "";
    endSession(
      busy
        ? "Every listening place is in use. Please try again in a minute."
        : `The connection closed${reason}. Press Start to try again.`,
      true,
    );
  }

  // Replies: decoded as they arrive, played one after another.
  enqueue(speak, wav) {
    const buffer = this.context.decodeAudioData(wav);
    buffer.catch(() => {}); // reported when its turn comes
    this.queue.push({ speak, buffer, source: null, stopped: false });
    if (!this.current) {
      this.playNext();
    }
  }

  async playNext() {
    const item = this.queue.shift();
    this.current = item || null;
    if (!item) {
      this.onQuiet();
      return;
    }
    let buffer;
    try {
      buffer = await item.buffer;
    } catch {
      spoken(item.speak.kind, item.speak.text); // read, where it cannot be heard
      setStatus("A reply could not be played.", true);
      this.finished(item, true);
      this.playNext();
      return;
    }
    if (this.current !== item || item.stopped) {
      return; // stopped while decoding
    }
    const source = new AudioBufferSourceNode(this.context, { buffer });
    source.connect(this.context.destination); // the WAV already carries the volume setting
    item.source = source;
    source.addEventListener("ended", () => {
      if (this.current === item) {
        this.finished(item, item.stopped);
        this.playNext();
      }
    });
    spoken(item.speak.kind, item.speak.text);
    setState("speaking");
    setStatus("Speaking. Say “stop”, or press the big button, to stop.");
    source.start();
    count("started");
  }

  finished(item, interrupted) {
    count(interrupted ? "stopped" : "played");
    if (!interrupted) {
      // data-played-answer, data-played-follow-up, ...: replies of each kind played to the end
      count(`played_${item.speak.kind}`.replace(/_(.)/g, (_, letter) => letter.toUpperCase()));
    }
    this.send({ type: "done", speak_id: item.speak.id, interrupted });
    touch();
  }

  stopSpeaking() {
    for (const item of this.queue.splice(0)) {
      this.finished(item, true);
    }
    const item = this.current;
    if (!item) {
      return;
    }
    item.stopped = true;
    if (item.source) {
      item.source.stop(); // "ended" follows and reports it
    } else {
      this.finished(item, true);
      this.playNext();
    }
  }

  speaking() {
    return this.current !== null || this.queue.length > 0;
  }

  onQuiet() {
    if (this.resetWhenQuiet) {
      endSession(START_STATUS);
    } else if (page.body.dataset.state === "speaking") {
      setState("listening");
      setStatus(this.mode === "push" ? "Press the big button to ask another question." : "Listening.");
    }
  }

  cue(name) {
    // Two rising tones for "listening", one soft tone for "still listening".
    const tones = name === "listening" ? [660, 880] : [520];
    let at = this.context.currentTime;
    for (const frequency of tones) {
      const tone = new OscillatorNode(this.context, { frequency });
      const gain = new GainNode(this.context, { gain: 0 });
      gain.gain.setTargetAtTime(0.25, at, 0.01);
      gain.gain.setTargetAtTime(0, at + 0.1, 0.03);
      tone.connect(gain).connect(this.context.destination);
      tone.start(at);
      tone.stop(at + 0.3);
      at += 0.15;
    }
  }

  close() {
    this.closing = true;
    this.queue = [];
    if (this.current && this.current.source) {
      this.current.source.stop();
    }
    this.current = null;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) {
      this.socket.close(1000, "page closed the session");
    }
    if (this.stream) {
      for (const track of this.stream.getTracks()) {
        track.stop();
      }
    }
    if (this.context) {
      this.context.close();
    }
  }
}

// Server events, by type.
const EVENTS = {
  ready(s, message) {
    s.ready = true;
    s.mode = message.mode;
    if (message.title) {
      page.title.textContent = message.title;
    }
    setState("listening");
    setStatus(s.mode === "push" ? "Press the big button, then ask your question." : "Listening. Ask your question.");
    for (const waiting of s.waiting.splice(0)) {
      s.send(waiting);
    }
  },
  listen(s) {
    setState("listening");
    setStatus("Listening. Ask your question.");
  },
  speech_started(s) {
    touch();
    if (!s.speaking()) {
      setState("hearing");
      setStatus("Hearing you…");
    }
  },
  speech_ended(s) {
    if (!s.speaking()) {
      setState("thinking");
      setStatus("One moment…");
    }
  },
  partial(s, message) {
    page.captions.setAttribute("aria-busy", "true"); // screen readers wait for the final words
    caption(page.heard, `I heard: ${message.text}…`);
  },
  heard(s, message) {
    touch();
    page.captions.setAttribute("aria-busy", "false");
    caption(page.heard, `I heard: ${message.text}`);
  },
  no_speech(s) {
    // A cough or a door: nothing was asked.
    page.captions.setAttribute("aria-busy", "false");
    if (page.heard.textContent.endsWith("…")) {
      caption(page.heard, "");
    }
    if (!s.speaking()) {
      setState("listening");
      setStatus("Listening.");
    }
  },
  decision(s, message) {
    page.body.dataset.decision = message.decision;
    page.body.dataset.entry = message.entry_id || "";
    showOffer(null);
  },
  speak(s, message) {
    s.expectWav = message;
  },
  stop_speaking(s) {
    s.stopSpeaking();
  },
  show(s, message) {
    if (message.role === "person") {
      caption(page.heard, `I heard: ${message.text}`);
    } else if (message.role === "assistant") {
      spoken("notice", message.text);
    } else {
      setStatus(message.text);
    }
  },
  offer(s, message) {
    showOffer(message);
  },
  cue(s, message) {
    s.cue(message.name);
  },
  error(s, message) {
    setStatus(message.message, true);
  },
  reset(s) {
    s.resetWhenQuiet = true; // after the goodbye has been spoken
    if (!s.speaking()) {
      endSession(START_STATUS);
    }
  },
};

async function startSession() {
  session = new Session();
  const starting = session;
  setState("connecting");
  setStatus("Starting the microphone…");
  touch();
  try {
    await starting.start();
  } catch (error) {
    if (session === starting) {
      const name = error && error.name;
      const message =
        name === "NotAllowedError" || name === "NotFoundError"
          ? "No microphone: allow the microphone or connect one, then press Start."
          : `The microphone could not start (${error}). Press Start to try again.`;
      endSession(message, true);
    }
  }
}

function talk() {
  touch();
  if (!session) {
    startSession();
  } else if (session.speaking()) {
    session.send({ type: "command", command: "stop" });
  } else {
    session.send({ type: "key" });
  }
}

function command(name) {
  if (!session) {
    startSession();
  }
  touch();
  session.send({ type: "command", command: name });
}

function choose(entryId) {
  if (session) {
    touch();
    session.send({ type: "choose", entry_id: entryId });
  }
}

page.talk.addEventListener("click", talk);
for (const button of document.querySelectorAll("[data-command]")) {
  button.addEventListener("click", () => command(button.dataset.command));
}
document.addEventListener("keydown", (event) => {
  touch();
  if (event.key === "Escape" && session) {
    event.preventDefault();
    command("stop");
  } else if ((event.key === " " || event.key === "Enter") && !(event.target instanceof HTMLButtonElement)) {
    // A switch that sends Space or Enter works with nothing focused: it presses the big button.
    event.preventDefault();
    talk();
  }
});
setState("start");
