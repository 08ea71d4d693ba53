/* Hobbies Community live client: one WebSocket per tab (docs/protocol.md). Plain JS, no build. */
(function () {
  "use strict";

  const page = document.getElementById("conversation");
  const view = page ? {
    channel: Number(page.dataset.channel),
    stream: page.dataset.stream,
    userId: Number(page.dataset.userId),
    username: page.dataset.username,
    member: page.dataset.member === "1",
    manages: page.dataset.manages === "1",
    admin: page.dataset.admin === "1",
  } : null;
  const lastSeq = {};          // stream key -> last seq applied here
  const pending = new Map();   // client_msg_id -> frame, resent on reconnect until acknowledged
  const typingTimers = new Map();
  let socket = null;
  let retryDelay = 500;
  let lastTypingSent = 0;
  let pingTimer = null;
  let uploads = null;                // the attachment box of the message form (static/js/attachments.js)
  let sendWhenReady = false;
  const sentWithFiles = new Set();   // client_msg_ids of sends carrying the current uploads

  if (view) lastSeq[view.stream] = Number(page.dataset.lastSeq || 0);

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function notice(text) {
    const el = document.getElementById("live-notice");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
  }

  // Rendering messages (html is sanitised on the server when the message is stored)

  function messageElement(message) {
    const li = document.createElement("li");
    li.className = "msg";
    li.id = `m${message.id}`;
    li.dataset.id = message.id;
    li.dataset.seq = message.seq;
    li.dataset.authorId = message.author ? message.author.id : "";
    const meta = document.createElement("div");
    meta.className = "msg-meta";
    const author = document.createElement("span");
    author.className = "msg-author";
    author.textContent = message.author ? message.author.username : "(gone)";
    const time = document.createElement("time");
    time.dateTime = message.created_at;
    time.textContent = new Date(message.created_at).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    const edited = document.createElement("span");
    edited.className = "msg-edited";
    edited.textContent = "(edited)";
    meta.append(author, " ", time, " ", edited);
    const body = document.createElement("div");
    body.className = "msg-body";
    li.append(meta, body);
    fillMessage(li, message);
    return li;
  }

  function fillMessage(li, message) {
    li.dataset.seq = message.seq;
    li.classList.toggle("msg-redacted", message.redacted);
    li.classList.remove("msg-pending");
    li.querySelector(".msg-edited").hidden = !message.edited_at || message.redacted;
    const body = li.querySelector(".msg-body");
    if (message.redacted) {
      body.innerHTML = "<em>(Deleted)</em>";
    } else {
      body.innerHTML = message.html;
    }
    const oldFiles = li.querySelector(".attachments");
    if (oldFiles) oldFiles.remove();
    const files = (message.metadata || {}).attachments;
    if (!message.redacted && files && files.length && window.Attachments) {
      body.after(window.Attachments.render(files));
    }
    const old = li.querySelector(".msg-actions");
    if (old) old.remove();
    const mine = message.author && message.author.id === view.userId;
    if (!message.redacted && (mine || view.manages || view.admin)) {
      const actions = document.createElement("div");
      actions.className = "msg-actions";
      if (mine) actions.append(actionButton("edit", "Edit"));
      actions.append(actionButton("redact", "Delete"));
      if (view.admin) actions.append(actionButton("delete", "Remove entirely", "danger"));
      li.append(actions);
    }
  }

  function actionButton(action, label, extra) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `link-button ${extra || ""}`.trim();
    button.dataset.action = action;
    button.textContent = label;
    return button;
  }

  function upsertMessage(message) {
    const list = document.getElementById("messages");
    if (!list) return;
    const empty = document.getElementById("empty-note");
    if (empty) empty.remove();
    let li = document.getElementById(`m${message.id}`);
    if (!li && message.client_msg_id) {
      li = list.querySelector(`[data-client-msg-id="${message.client_msg_id}"]`);
      if (li) { li.id = `m${message.id}`; li.dataset.id = message.id; }
    }
    if (li) {
      fillMessage(li, message);
      return;
    }
    list.append(messageElement(message));
    li = list.lastElementChild;
    li.scrollIntoView({ block: "nearest" });
  }

  // Applying events in order, exactly once

  function applyStreamEvent(frame) {
    const last = lastSeq[frame.stream];
    if (last === undefined) return;
    if (frame.seq <= last) return;                 // duplicate
    if (frame.seq > last + 1) {                    // gap: ask for what is missing, then carry on
      send({ type: "sync", streams: { [frame.stream]: last } });
      return;
    }
    lastSeq[frame.stream] = frame.seq;
    const viewing = view && frame.stream === view.stream;
    if (frame.type.startsWith("message.")) {
      if (viewing) {
        if (frame.type === "message.deleted") {
          const li = document.getElementById(`m${frame.message.id}`);
          if (li) li.remove();
        } else {
          upsertMessage(frame.message);
        }
        if (frame.type === "message.created" && document.visibilityState === "visible") markRead();
      } else if (frame.type === "message.created" && frame.message.author && frame.message.author.id !== myId()) {
        bumpUnread(frame.stream, 1);
      }
    } else if (frame.type === "stream.merged" && viewing) {
      notice("Another sub-channel was merged into this one; reloading its history…");
      setTimeout(() => window.location.reload(), 1500);
    } else if (frame.type === "channel.updated" && viewing) {
      document.getElementById("channel-name").textContent = frame.name;
    } else if (viewing && (frame.type === "member.removed" || frame.type === "member.banned") && frame.user.id === myId()) {
      notice(frame.type === "member.banned" ? "You were banned from this channel." : "You were removed from this channel.");
    }
  }

  function myId() {
    return view ? view.userId : Number(document.body.dataset.userId || 0);
  }

  function bumpUnread(stream, by) {
    document.querySelectorAll(`[data-unread-stream="${stream}"]`).forEach((el) => {
      const count = Number(el.dataset.count || 0) + by;
      el.dataset.count = count;
      el.textContent = count;
    });
  }

  function setUnread(stream, count) {
    document.querySelectorAll(`[data-unread-stream="${stream}"]`).forEach((el) => {
      el.dataset.count = count;
      el.textContent = count;
    });
  }

  function markRead() {
    if (!view || !view.member) return;
    send({ type: "read", channel: view.channel, stream: view.stream, seq: lastSeq[view.stream] });
  }

  function showTyping(frame) {
    if (!view || frame.stream !== view.stream) return;
    clearTimeout(typingTimers.get(frame.user.username));
    typingTimers.set(frame.user.username, setTimeout(() => { typingTimers.delete(frame.user.username); renderTyping(); }, 3000));
    renderTyping();
  }

  function renderTyping() {
    const el = document.getElementById("typing");
    if (!el) return;
    const names = Array.from(typingTimers.keys());
    el.textContent = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
  }

  function showPresence(frame) {
    frame.users.forEach((user) => {
      const li = document.querySelector(`#presence [data-user-id="${user.id}"]`);
      if (!li) return;
      li.dataset.status = user.status;
      li.querySelector(".status-text").textContent = user.text || "";
      li.querySelector(".status-word").textContent = user.status;
    });
  }

  const handlers = {
    hello(frame) {
      Object.entries(frame.streams).forEach(([key, seq]) => {
        if (lastSeq[key] === undefined) lastSeq[key] = seq;
      });
      if (view && !frame.streams.hasOwnProperty(view.stream)) send({ type: "channel.subscribe", channel: view.channel });
      const behind = {};
      Object.keys(lastSeq).forEach((key) => { if (frame.streams[key] !== undefined && frame.streams[key] > lastSeq[key]) behind[key] = lastSeq[key]; });
      if (Object.keys(behind).length) send({ type: "sync", streams: behind });
      pending.forEach((message) => send(message));   // idempotent: the server answers retries with the stored message
      if (view) markRead();
    },
    ack(frame) {
      pending.delete(frame.client_msg_id);
      if (uploads && sentWithFiles.delete(frame.client_msg_id)) uploads.clear();
      if (view && frame.stream === view.stream) upsertMessage(frame.message);
    },
    error(frame) {
      if (frame.client_msg_id && pending.has(frame.client_msg_id)) {
        pending.delete(frame.client_msg_id);
        const li = document.querySelector(`[data-client-msg-id="${frame.client_msg_id}"]`);
        if (li) li.classList.add("msg-failed");
      }
      notice(frame.message);
    },
    typing: showTyping,
    presence: showPresence,
    unread(frame) { setUnread(frame.stream, frame.count); },
    resync() { window.location.reload(); },
    "stream.added"(frame) {
      const known = lastSeq[frame.stream];
      if (known === undefined) lastSeq[frame.stream] = frame.seq;
      else if (frame.seq > known) send({ type: "sync", streams: { [frame.stream]: known } });
    },
    "stream.removed"(frame) { delete lastSeq[frame.stream]; },
    "member.moved"(frame) {
      if (view && frame.channel === view.channel) {
        notice("This channel was rebalanced: you have been moved to a new sub-channel. Reloading…");
        setTimeout(() => window.location.reload(), 1500);
      }
    },
    "channel.deleted"(frame) { if (view && frame.channel === view.channel) notice("This channel was deleted."); },
    "sync.done"() {},
    pong() {},
  };

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/`);
    socket.addEventListener("open", () => {
      retryDelay = 500;
      clearInterval(pingTimer);
      pingTimer = setInterval(() => send({ type: "ping" }), 25000);
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      // Named control frames first: an ack also carries stream and seq, but it is not a stream event.
      if (handlers[frame.type]) {
        handlers[frame.type](frame);
      } else if (frame.stream !== undefined && frame.seq !== undefined) {
        applyStreamEvent(frame);
      }
    });
    socket.addEventListener("close", (event) => {
      clearInterval(pingTimer);
      if (event.code === 4401) { window.location.reload(); return; }
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    });
  }

  // The conversation page's controls

  function wireConversation() {
    const form = document.getElementById("composer");
    if (form) {
      const box = form.querySelector("textarea");
      const fileInput = document.getElementById("attach-files");
      if (fileInput && window.Attachments) {
        uploads = window.Attachments.init({
          form, input: fileInput, dropZone: page, listEl: document.getElementById("uploads"),
          channelId: view.channel, csrfToken: form.querySelector("[name=csrfmiddlewaretoken]").value,
          startUrl: page.dataset.attachmentStartUrl,
          // A send pressed while files were still uploading goes out once the last one is ready.
          onChange: (box) => { if (sendWhenReady && !box.isBusy()) { sendWhenReady = false; form.requestSubmit(); } },
        });
      }
      form.addEventListener("submit", (event) => {
        const content = box.value;
        const files = uploads ? uploads.getAttachmentIds() : [];
        if (uploads && uploads.isBusy()) {
          event.preventDefault();
          sendWhenReady = true;
          notice("Your message will be sent when your files have finished uploading.");
          return;
        }
        if (!content.trim() && !files.length) { event.preventDefault(); return; }
        const clientMsgId = uuid();
        form.querySelector("#id_client_msg_id").value = clientMsgId;
        const frame = { type: "message.send", channel: view.channel, stream: view.stream, content, client_msg_id: clientMsgId };
        if (files.length) { frame.attachments = files; sentWithFiles.add(clientMsgId); }
        if (!socket || socket.readyState !== WebSocket.OPEN) return;  // no socket: the form posts as a fallback
        event.preventDefault();
        pending.set(clientMsgId, frame);
        const li = messageElement({ id: `pending-${clientMsgId}`, seq: 0, author: { id: view.userId, username: view.username },
          html: "", content, created_at: new Date().toISOString(), edited_at: null, redacted: false });
        li.querySelector(".msg-body").textContent = content;
        li.dataset.clientMsgId = clientMsgId;
        li.classList.add("msg-pending");
        document.getElementById("messages").append(li);
        send(frame);
        box.value = "";
      });
      box.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
      });
      box.addEventListener("input", () => {
        const now = Date.now();
        if (now - lastTypingSent > 2000 && view.member) {
          lastTypingSent = now;
          send({ type: "typing", channel: view.channel, stream: view.stream });
        }
      });
    }
    document.getElementById("messages").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const li = button.closest(".msg");
      const id = Number(li.dataset.id);
      if (button.dataset.action === "edit") {
        const current = li.querySelector(".msg-body").innerText;
        const content = window.prompt("Edit your message", current);
        if (content !== null && content.trim()) send({ type: "message.edit", message: id, content });
      } else if (button.dataset.action === "redact") {
        if (window.confirm("Delete this message? Everyone will see “(Deleted)”.")) send({ type: "message.redact", message: id });
      } else if (button.dataset.action === "delete") {
        if (window.confirm("Remove this message entirely? This cannot be undone.")) send({ type: "message.delete", message: id });
      }
    });
    const older = document.getElementById("load-older");
    if (older) {
      older.addEventListener("click", async () => {
        const response = await fetch(`${page.dataset.olderUrl}&before=${older.dataset.before}`, { credentials: "same-origin" });
        if (!response.ok) { notice("Could not load older messages."); return; }
        const data = await response.json();
        document.getElementById("messages").insertAdjacentHTML("afterbegin", data.html);
        if (data.has_older) older.dataset.before = data.oldest_seq; else older.remove();
      });
    }
    const statusForm = document.getElementById("status-form");
    if (statusForm) {
      statusForm.addEventListener("submit", (event) => {
        event.preventDefault();
        send({ type: "presence.set", status: document.getElementById("status-away").value, text: document.getElementById("status-text").value });
      });
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") markRead();
      send({ type: "presence.set", status: document.visibilityState === "visible" ? "online" : "away",
        text: (document.getElementById("status-text") || {}).value || "" });
    });
  }

  if (view) wireConversation();
  connect();
  window.hobbiesLive = { lastSeq, pending };
})();
