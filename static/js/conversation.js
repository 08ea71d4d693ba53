/* The conversation on screen (templates/chat/conversation.html): reads what the page says about it,
   follows its stream (a visitor of a public channel subscribes), applies its stream's events to the
   timeline, shows who is typing, marks it read while the tab is visible, and puts "New messages"
   above what arrived while the tab was hidden. navigation.js mounts and unmounts it when switching
   conversations without a reload.

     Hobbies.conversation.mount(), .unmount()
*/
(function (H) {
  "use strict";

  const typingTimers = new Map();
  let view = null;

  function read(root) {
    const data = root.dataset;
    return {
      channel: Number(data.channel),
      stream: data.stream,
      lastSeq: Number(data.lastSeq || 0),
      member: data.member === "1",
      manages: data.manages === "1",
      admin: data.admin === "1",
      direct: data.direct === "1",
      name: data.name,
      room: data.room,
      olderUrl: data.olderUrl,
      attachmentStartUrl: data.attachmentStartUrl,
      messageUrl: data.messageUrl,
      reportUrl: data.reportUrl,
    };
  }

  function notice(text) {
    const el = document.getElementById("live-notice");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }
  H.on("notice", notice);

  function markRead() {
    if (!view || !view.member || document.visibilityState !== "visible") return;
    const seq = H.live.lastSeq[view.stream];
    if (seq) H.live.send({ type: "read", channel: view.channel, stream: view.stream, seq });
  }

  function follow() {
    // A visitor of a public channel follows its stream while reading it.
    if (view && !view.member) H.live.send({ type: "channel.subscribe", channel: view.channel });
    markRead();
  }

  function title() {
    if (view.direct) return document.getElementById("conversation").dataset.title;
    return view.room ? `${view.name} · room ${view.room}` : view.name;
  }

  function retitle() {
    const heading = document.getElementById("channel-name");
    if (heading) heading.textContent = title();
    document.title = `${title()} — ${H.community}`;
    if (H.sidebar) H.sidebar.updateTitle();
  }

  function apply(frame) {
    if (!view || frame.stream !== view.stream) return;
    if (frame.type === "message.created" || frame.type === "message.edited" || frame.type === "message.redacted") {
      const hidden = document.visibilityState !== "visible";
      const li = H.timeline.upsert(frame.message);
      if (frame.type === "message.created") {
        stopTyping(frame.message.author && frame.message.author.username);
        if (hidden && frame.message.author && frame.message.author.id !== H.me.id) H.timeline.markUnread(li);
        markRead();
      }
    } else if (frame.type === "message.deleted") {
      H.timeline.remove(frame.message.id);
    } else if (frame.type === "channel.updated" && frame.name) {
      view.name = frame.name;
      document.getElementById("conversation").dataset.name = frame.name;
      retitle();
    } else if (frame.type === "stream.merged") {
      notice("Another sub-channel was merged into this one; reloading its history…");
      setTimeout(() => window.location.reload(), 1500);
    }
  }

  function stopTyping(name) {
    if (!name || !typingTimers.has(name)) return;
    clearTimeout(typingTimers.get(name));
    typingTimers.delete(name);
    renderTyping();
  }

  function renderTyping() {
    const el = document.getElementById("typing");
    if (!el) return;
    const names = Array.from(typingTimers.keys());
    el.textContent = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
  }

  H.on("stream-event", apply);
  H.on("outbox:acked", (ack) => { if (view && ack.stream === view.stream) H.timeline.upsert(ack.message); });
  H.on("frame:hello", follow);
  H.on("frame:typing", (frame) => {
    if (!view || frame.stream !== view.stream || frame.user.id === H.me.id) return;
    clearTimeout(typingTimers.get(frame.user.username));
    typingTimers.set(frame.user.username, setTimeout(() => stopTyping(frame.user.username), 3000));
    renderTyping();
  });
  H.on("frame:member.moved", (frame) => {
    if (view && frame.channel === view.channel) {
      notice("This channel was rebalanced: you have been moved to a new sub-channel. Reloading…");
      setTimeout(() => window.location.reload(), 1500);
    }
  });
  H.on("frame:channel.deleted", (frame) => { if (view && frame.channel === view.channel) notice("This channel was deleted."); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") markRead();
  });

  function mount() {
    const root = document.getElementById("conversation");
    if (!root) return;
    view = read(root);
    H.view = view;
    // What this page shows runs up to its lastSeq: events after it come live or by `sync`.
    const known = H.live.lastSeq[view.stream];
    H.live.lastSeq[view.stream] = view.lastSeq;
    if (known !== undefined && known > view.lastSeq) H.live.send({ type: "sync", streams: { [view.stream]: view.lastSeq } });
    H.timeline.mount(view);
    H.outbox.waiting(view.stream).forEach((frame) => H.timeline.pending(frame));
    H.composer.mount(view);
    H.emit("view:mount", view);
    if (H.live.connected) follow();
  }

  function unmount() {
    if (!view) return;
    if (!view.member) {
      H.live.send({ type: "channel.unsubscribe", channel: view.channel });
      delete H.live.lastSeq[view.stream];
    }
    typingTimers.forEach((timer) => clearTimeout(timer));
    typingTimers.clear();
    H.emit("view:unmount", view);
    H.timeline.unmount();
    H.composer.unmount();
    view = null;
    H.view = null;
  }

  H.conversation = { mount, unmount, markRead };
  mount();
})(window.Hobbies);
