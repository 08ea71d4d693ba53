/* static/js/messaging.js, Hobbies.live: the one WebSocket of this tab (docs/protocol.md): connects, says "hello", keeps every stream's
   last seq, applies stream events in order and exactly once (a gap is repaired with `sync`), and
   reconnects with a growing pause. It reports the connection's state and whether the tab is idle
   (no input for PRESENCE_IDLE_SECONDS: presence shows away when every tab of a person is idle).
   Nothing is sent when the page goes away: presence follows the socket itself.

     Hobbies.live.send(frame) -> true when it went out now
     Hobbies.live.connected, Hobbies.live.state, Hobbies.live.lastSeq
*/
(function (H) {
  "use strict";

  const lastSeq = {};  // stream key -> last seq applied in this tab
  const MAX_RETRY_MS = 5000;
  let socket = null;
  let retryDelay = 500;
  let retryTimer = null;
  let failures = 0;
  let pingTimer = null;
  let leaving = false;  // a navigation away from this page has started
  const live = { lastSeq, send, connected: false, state: "connecting", idle: false, reconnect };
  window.hobbiesLive = live;  // for the browser tests and the curious
  H.live = live;

  window.addEventListener("beforeunload", () => { leaving = true; });
  window.addEventListener("pageshow", () => { leaving = false; });

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN && live.connected) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function setState(state) {
    if (live.state === state) return;
    live.state = state;
    H.emit("connection", state);
  }

  function behind(heads) {
    const wanted = {};
    Object.entries(heads).forEach(([key, seq]) => {
      if (lastSeq[key] !== undefined && seq > lastSeq[key]) wanted[key] = lastSeq[key];
    });
    if (Object.keys(wanted).length) send({ type: "sync", streams: wanted });
  }

  function applyStreamEvent(frame) {
    const last = lastSeq[frame.stream];
    if (last === undefined) return;
    if (frame.seq <= last) return;  // a duplicate
    if (frame.seq > last + 1) {  // a gap: ask for what is missing (it comes in order), drop this one
      send({ type: "sync", streams: { [frame.stream]: last } });
      return;
    }
    lastSeq[frame.stream] = frame.seq;
    H.emit("stream-event", frame);
  }

  const control = {
    hello(frame) {
      live.connected = true;
      failures = 0;
      Object.entries(frame.streams).forEach(([key, seq]) => {
        if (lastSeq[key] === undefined) lastSeq[key] = seq;
      });
      const wanted = {};
      Object.keys(lastSeq).forEach((key) => {
        if (frame.streams[key] !== undefined && frame.streams[key] > lastSeq[key]) wanted[key] = lastSeq[key];
      });
      if (Object.keys(wanted).length) send({ type: "sync", streams: wanted });
      if (live.idle) send({ type: "presence.idle", idle: true });  // a new socket starts in use
      setState("open");
    },
    heads(frame) { behind(frame.streams); },
    resync() { window.location.reload(); },
    "stream.added"(frame) {
      const known = lastSeq[frame.stream];
      if (known === undefined) lastSeq[frame.stream] = frame.seq;
      else if (frame.seq > known) send({ type: "sync", streams: { [frame.stream]: known } });
    },
    "stream.removed"(frame) { delete lastSeq[frame.stream]; },
  };

  function connect() {
    clearTimeout(retryTimer);
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/`);
    const mine = socket;
    socket.addEventListener("open", () => {
      retryDelay = 500;
      clearInterval(pingTimer);
      pingTimer = setInterval(() => send({ type: "ping" }), 25000);
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      // Control frames first: an ack also carries stream and seq, but it is not a stream event.
      if (control[frame.type]) control[frame.type](frame);
      H.emit("frame", frame);
      H.emit(`frame:${frame.type}`, frame);
      if (!control[frame.type] && frame.type !== "ack" && frame.stream !== undefined && frame.seq !== undefined) {
        applyStreamEvent(frame);
      }
    });
    socket.addEventListener("close", (event) => {
      if (mine !== socket) return;
      clearInterval(pingTimer);
      live.connected = false;
      // Signed out elsewhere: reload to the sign-in page, unless this tab is already leaving
      // (its own sign-out form is on its way, and a reload would cut that navigation short).
      if (event.code === 4401) { if (!leaving) window.location.reload(); return; }
      failures += 1;
      setState(navigator.onLine === false || failures > 2 ? "offline" : "reconnecting");
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, MAX_RETRY_MS);
    });
  }

  function reconnect() {
    if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) return;
    retryDelay = 500;
    connect();
  }

  window.addEventListener("online", reconnect);
  window.addEventListener("offline", () => setState("offline"));

  // Idle: nobody typed, clicked, scrolled or moved the pointer here for PRESENCE_IDLE_SECONDS
  // (a hidden tab gets no input, so it turns idle too).
  const idleAfter = Number(document.body.dataset.idleSeconds || 300) * 1000;
  let lastInput = Date.now();

  function active() {
    lastInput = Date.now();
    if (live.idle) {
      live.idle = false;
      send({ type: "presence.idle", idle: false });
    }
  }

  ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "scroll", "focus"].forEach((type) => {
    window.addEventListener(type, active, { passive: true, capture: true });
  });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") active(); });
  setInterval(() => {
    if (!live.idle && Date.now() - lastInput >= idleAfter) {
      live.idle = true;
      send({ type: "presence.idle", idle: true });
    }
  }, Math.min(5000, Math.max(250, idleAfter / 4)));

  connect();
})(window.Hobbies);
