/* The sidebar (templates/chat/_sidebar.html): unread counts and the mention mark of every channel and
   direct conversation, live; the total in the tab's title, "(3) Chess — F13 Hobbies Community"; the
   current conversation highlighted; the phone menu; my status form.

   Counts are kept per stream (a moderator may sit in several sub-channels of a channel). A new
   message from someone else counts unless it is in the conversation on screen while the tab is
   visible (that one is read at once). An `unread` frame (after a read, in any tab of mine) sets
   the count; mentions of me, replies to my messages (and every direct message) raise the mark until read.
*/
(function (H) {
  "use strict";

  const nav = document.getElementById("sidebar");
  if (!nav) return;
  let state = {};
  let refreshing = null;
  let waiting = [];  // [channel id, callback]: for a channel this page learns about at the next refresh

  function load(root) {
    const script = root.querySelector("#sidebar-state");
    try { state = JSON.parse(script ? script.textContent : "{}") || {}; } catch (error) { state = {}; }
  }

  function sum(counts) { return Object.values(counts || {}).reduce((total, count) => total + count, 0); }

  function total() { return Object.values(state).reduce((all, channel) => all + sum(channel.unread), 0); }

  function render(channelId) {
    const channel = state[channelId];
    const item = nav.querySelector(`.sidebar-item[data-channel="${channelId}"]`);
    const count = channel ? sum(channel.unread) : 0;
    if (item) {
      const badge = item.querySelector(".sidebar-count");
      badge.hidden = count === 0;
      badge.querySelector(".sidebar-count-number").textContent = count;
      item.querySelector(".sidebar-mention").hidden = !channel || sum(channel.mentions) === 0;
      item.classList.toggle("has-unread", count > 0);
    }
    // The channel list page shows the same counts (templates/chat/channels.html).
    document.querySelectorAll("[data-unread-stream]").forEach((el) => {
      if (H.streamChannel(el.dataset.unreadStream) !== Number(channelId)) return;
      el.dataset.count = count;
      el.textContent = count;
    });
    updateTitle();
  }

  function updateTitle() {
    const base = document.title.replace(/^\(\d+\) /, "");
    const count = total();
    document.title = count ? `(${count}) ${base}` : base;
  }

  function viewing(stream) {
    return Boolean(H.view && H.view.stream === stream && document.visibilityState === "visible");
  }

  H.on("frame:unread", (frame) => {
    const channel = state[frame.channel];
    if (!channel) return;
    channel.unread[frame.stream] = frame.count;
    channel.mentions[frame.stream] = frame.count === 0 ? 0 : Math.min(channel.mentions[frame.stream] || 0, frame.count);
    render(frame.channel);
  });

  H.on("stream-event", (frame) => {
    if (frame.type !== "message.created" || !frame.message.author || frame.message.author.id === H.me.id) return;
    const channel = state[frame.channel];
    if (!channel) { refresh(); return; }  // a conversation this page does not list yet
    if (viewing(frame.stream)) return;
    channel.unread[frame.stream] = (channel.unread[frame.stream] || 0) + 1;
    const reply = frame.message.reply_to;  // a reply to a message of mine counts like a mention
    if (channel.direct || H.people.mentionsMe(frame.message.html) || (reply && reply.author && reply.author.id === H.me.id)) {
      channel.mentions[frame.stream] = (channel.mentions[frame.stream] || 0) + 1;
    }
    render(frame.channel);
  });

  H.on("frame:channel.updated", (frame) => {
    const name = nav.querySelector(`.sidebar-item[data-channel="${frame.channel}"] .sidebar-name`);
    if (name && frame.name && state[frame.channel] && !state[frame.channel].direct) name.textContent = frame.name;
  });

  // Joined or left somewhere (in another tab, or someone opened a conversation with me): list it anew.
  H.on("frame:stream.added", () => refresh());
  H.on("frame:stream.removed", () => refresh());
  H.on("frame:channel.deleted", () => refresh());

  function refresh() {
    clearTimeout(refreshing);
    refreshing = setTimeout(async () => {
      try {
        const response = await fetch(window.location.href, { credentials: "same-origin" });
        if (!response.ok) return;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("sidebar");
        if (!fresh) return;
        nav.querySelectorAll(".sidebar-list").forEach((list, index) => {
          list.replaceWith(document.importNode(fresh.querySelectorAll(".sidebar-list")[index], true));
        });
        load(fresh);
        Object.keys(state).forEach(render);
        if (H.view) highlight(H.view.channel);
        const ready = waiting;
        waiting = [];
        ready.forEach(([channelId, callback]) => callback(state[channelId]));
      } catch (error) { /* the next change tries again */ }
    }, 300);
  }

  function highlight(channelId) {
    nav.querySelectorAll(".sidebar-item").forEach((item) => {
      const current = Number(item.dataset.channel) === Number(channelId);
      item.classList.toggle("is-current", current);
      const link = item.querySelector("a");
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
  }

  H.on("view:mount", (view) => { highlight(view.channel); updateTitle(); });
  H.on("view:unmount", () => highlight(null));

  // Phones: the sidebar is a menu behind the header's button.
  const toggle = document.getElementById("sidebar-toggle");
  function setOpen(open) {
    // Under the header, however many lines its links wrap to.
    const header = document.querySelector(".site-header");
    if (open && header) nav.style.top = `${Math.round(header.getBoundingClientRect().bottom)}px`;
    document.body.classList.toggle("sidebar-open", open);
    if (toggle) toggle.setAttribute("aria-expanded", String(open));
  }
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", () => {
      const open = !document.body.classList.contains("sidebar-open");
      setOpen(open);
      if (open) { const first = nav.querySelector("a"); if (first) first.focus(); }
    });
    nav.addEventListener("click", (event) => { if (event.target.closest("a")) setOpen(false); });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && document.body.classList.contains("sidebar-open")) { setOpen(false); toggle.focus(); }
    });
  }

  // My status: chosen availability and text, kept by the server until I change them.
  const statusForm = document.getElementById("status-form");
  if (statusForm) {
    statusForm.hidden = false;
    statusForm.addEventListener("submit", (event) => {
      event.preventDefault();
      H.live.send({
        type: "presence.set",
        status: document.getElementById("status-away").value,
        text: document.getElementById("status-text").value,
      });
    });
  }

  load(nav);
  Object.keys(state).forEach(render);
  // Calls back with what the sidebar knows of a channel: now, or after the refresh a new one brings.
  function whenKnown(channelId, callback) {
    if (state[channelId]) callback(state[channelId]);
    else { waiting.push([channelId, callback]); refresh(); }
  }

  H.sidebar = { updateTitle, whenKnown, channelName: (id) => {
    const name = nav.querySelector(`.sidebar-item[data-channel="${id}"] .sidebar-name`);
    return name ? name.textContent : "";
  }, isDirect: (id) => Boolean(state[id] && state[id].direct) };
})(window.Hobbies);
