/* window.Hobbies: what the chat client's small scripts share (templates/chat/_client_scripts.html).
   Plain JS, no build step; each script adds its part: Hobbies.live (the socket), Hobbies.outbox,
   Hobbies.times, Hobbies.people, Hobbies.sidebar, Hobbies.timeline, Hobbies.conversation...

     Hobbies.on("frame:ack", fn)     a frame from the server, by type ("frame" for every frame)
     Hobbies.on("stream-event", fn)  a stream event, in order and exactly once (messaging.js)
     Hobbies.on("connection", fn)    "connecting" | "open" | "reconnecting" | "offline"
     Hobbies.on("view:mount", fn)    a conversation was shown (conversation.js); "view:unmount"
     Hobbies.emit(type, detail)
*/
(function () {
  "use strict";

  const listeners = new Map();
  const body = document.body.dataset;

  function on(type, fn) {
    if (!listeners.has(type)) listeners.set(type, []);
    listeners.get(type).push(fn);
  }

  function emit(type, detail) {
    (listeners.get(type) || []).slice().forEach((fn) => {
      try {
        fn(detail);
      } catch (error) {
        window.setTimeout(() => { throw error; });  // reported, without stopping the other listeners
      }
    });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function visuallyHidden(text) {
    return el("span", "visually-hidden", text);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // localStorage, per person, that never throws (private modes, full quota).
  const prefix = `hobbies.${body.userId || "anonymous"}.`;
  const store = {
    get(key, fallback) {
      try {
        const raw = window.localStorage.getItem(prefix + key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch (error) {
        return fallback;
      }
    },
    set(key, value) {
      try { window.localStorage.setItem(prefix + key, JSON.stringify(value)); } catch (error) { /* kept in memory only */ }
    },
    remove(key) {
      try { window.localStorage.removeItem(prefix + key); } catch (error) { /* nothing to do */ }
    },
  };

  function icon(name) {
    const template = document.getElementById("client-icons");
    const found = template && template.content.querySelector(`.icon-${name}`);
    return found ? found.cloneNode(true) : el("span");
  }

  function streamChannel(key) {
    return Number(String(key).split(":")[0]);
  }

  window.Hobbies = {
    me: { id: Number(body.userId || 0), username: body.username || "" },
    community: body.community || "",
    on,
    emit,
    el,
    visuallyHidden,
    uuid,
    store,
    icon,
    streamChannel,
    view: null,  // the conversation on screen, if any (conversation.js)
  };
})();
