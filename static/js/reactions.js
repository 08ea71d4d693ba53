/* Replies and reactions (issue 17; docs/protocol.md): the reply quote above a message, the
   reaction bar under it (counts, who reacted in the title, a small picker of common emoji plus any
   typed one), the "Replying to …" line over the composer, and the `reply` notice. The page draws
   the same without JavaScript (templates/chat/_reply_quote.html, _reactions.html, whose forms this
   script turns into `reaction.add` / `reaction.remove` frames while the socket is up).
*/
(function (H) {
  "use strict";

  const COMMON = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];
  let replyingTo = null;  // {id, author, excerpt} while the composer replies

  function channelOf(li) {
    const conversation = document.getElementById("conversation");
    return conversation ? conversation.dataset.channel : H.view && H.view.channel;
  }

  function permalink(li, messageId) {
    return `/channels/${channelOf(li)}/messages/${messageId}/`;
  }

  // The quote of the original, from a message's `reply_to`.
  function quote(li, ref) {
    const link = H.el("a", "reply-quote");
    link.href = permalink(li, ref.id);
    link.dataset.replyTo = ref.id;
    markQuote(link, ref);
    return link;
  }

  function markQuote(link, ref) {
    link.classList.toggle("reply-quote-deleted", Boolean(ref.deleted));
    if (ref.deleted) link.replaceChildren(H.el("em", "", "(original deleted)"));
    else link.replaceChildren(H.el("span", "reply-quote-author", ref.author ? ref.author.username : "(gone)"), " ",
      H.el("span", "reply-quote-text", ref.excerpt));
  }

  function bar(li) {
    let box = li.querySelector(".reactions");
    if (!box) {
      box = H.el("div", "reactions");
      const main = li.querySelector(".msg-main");
      if (!main) return null;
      main.append(box);
    }
    box.dataset.message = li.dataset.id;
    return box;
  }

  function drawReactions(li, reactions) {
    const box = bar(li);
    if (!box) return;
    box.querySelectorAll(".reaction-form, .reaction").forEach((old) => old.remove());
    const tools = box.querySelector(".reaction-tools");
    (reactions || []).forEach((reaction) => {
      const button = H.el("button", "reaction");
      button.type = "button";
      button.dataset.emoji = reaction.emoji;
      button.title = reaction.users.join(", ");
      button.classList.toggle("reaction-mine", reaction.users.includes(H.me.username));
      button.append(`${reaction.emoji} `, H.el("span", "reaction-count", String(reaction.count)));
      box.insertBefore(button, tools);
    });
  }

  function addTools(li) {
    const box = bar(li);
    if (!box || box.querySelector(".reaction-tools") || li.classList.contains("msg-redacted")) return;
    const tools = H.el("span", "reaction-tools");
    const pick = H.el("button", "reaction-pick", "☺+");
    pick.type = "button";
    pick.title = "Add a reaction";
    pick.setAttribute("aria-label", "Add a reaction");
    const reply = H.el("button", "reply-button", "Reply");
    reply.type = "button";
    tools.append(pick, reply);
    box.append(tools);
  }

  // Forms drawn by the page become buttons once the client runs.
  function adopt(li) {
    li.querySelectorAll(".reaction-form").forEach((form) => {
      const button = form.querySelector(".reaction");
      if (button) form.replaceWith(button);
    });
    addTools(li);
  }

  function decorate(message) {
    const li = document.getElementById(`m${message.id}`);
    if (!li) return;
    li.querySelectorAll(".reply-quote").forEach((old) => old.remove());
    if (message.redacted) {
      li.querySelectorAll(".reactions").forEach((old) => old.remove());
      return;
    }
    if (message.reply_to) {
      const body = li.querySelector(".msg-body");
      if (body) body.before(quote(li, message.reply_to));
    }
    drawReactions(li, message.reactions);
    addTools(li);
  }

  function originalGone(messageId) {
    document.querySelectorAll(`.reply-quote[data-reply-to="${messageId}"]`).forEach((link) => markQuote(link, { deleted: true }));
  }

  function picker(anchor, messageId) {
    document.querySelectorAll(".reaction-picker").forEach((old) => old.remove());
    const box = H.el("div", "reaction-picker");
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Pick a reaction");
    COMMON.forEach((emoji) => {
      const button = H.el("button", "reaction-choice", emoji);
      button.type = "button";
      button.dataset.emoji = emoji;
      box.append(button);
    });
    const typed = H.el("input", "reaction-typed");
    typed.setAttribute("aria-label", "Any emoji");
    typed.placeholder = "or type one";
    typed.maxLength = 16;
    typed.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && typed.value.trim()) {
        event.preventDefault();
        react(messageId, typed.value.trim(), false);
        box.remove();
      } else if (event.key === "Escape") box.remove();
    });
    box.addEventListener("click", (event) => {
      const choice = event.target.closest(".reaction-choice");
      if (!choice) return;
      react(messageId, choice.dataset.emoji, false);
      box.remove();
    });
    box.append(typed);
    anchor.after(box);
    typed.focus();
  }

  function react(messageId, emoji, remove) {
    return H.live && H.live.send({ type: remove ? "reaction.remove" : "reaction.add", message: Number(messageId), emoji });
  }

  function replyLine() {
    const composer = document.getElementById("composer");
    if (!composer) return;
    composer.querySelectorAll(".replying").forEach((old) => old.remove());
    if (!replyingTo) return;
    const line = H.el("p", "replying");
    const cancel = H.el("button", "replying-cancel", "✕");
    cancel.type = "button";
    cancel.title = "Do not reply";
    line.append("Replying to ", H.el("strong", "", replyingTo.author), " ", H.el("span", "muted", replyingTo.excerpt), " ", cancel);
    composer.prepend(line);
  }

  document.addEventListener("click", (event) => {
    const reaction = event.target.closest(".reactions .reaction");
    const li = event.target.closest("li.msg");
    if (reaction && li && H.live && H.live.connected) {
      event.preventDefault();
      react(li.dataset.id, reaction.dataset.emoji, reaction.classList.contains("reaction-mine"));
    } else if (event.target.closest(".reaction-pick") && li) {
      picker(event.target.closest(".reaction-pick"), li.dataset.id);
    } else if (event.target.closest(".reply-button") && li) {
      const body = li.querySelector(".msg-body");
      const text = (body ? body.textContent : "").replace(/\s+/g, " ").trim();
      replyingTo = { id: Number(li.dataset.id), author: li.dataset.author || "(gone)", excerpt: text.slice(0, 120) };
      replyLine();
      const box = document.getElementById("id_content");
      if (box) box.focus();
    } else if (event.target.closest(".replying-cancel")) {
      replyingTo = null;
      replyLine();
    }
  });

  // The next message sent from the composer carries `reply_to`.
  function wrapOutbox() {
    if (!H.outbox || H.outbox.replies) return;
    const send = H.outbox.send;
    H.outbox.send = (frame) => {
      if (replyingTo && frame.type === "message.send" && !frame.reply_to) {
        frame = Object.assign({}, frame, { reply_to: replyingTo.id });
        replyingTo = null;
        replyLine();
      }
      return send(frame);
    };
    H.outbox.replies = true;
  }

  // A page opened with ?reply_to=<id> (the no-JavaScript Reply link) drew the "Replying to" line and
  // a hidden `reply_to` field: the client replies the same way, with its own line.
  function adoptReply() {
    const field = document.querySelector("#composer input[name=reply_to]");
    if (!field) return;
    const line = document.getElementById("replying");
    replyingTo = { id: Number(field.value), author: line ? line.dataset.author : "(gone)", excerpt: line ? line.dataset.excerpt : "" };
    field.remove();
    replyLine();
    const box = document.getElementById("id_content");
    if (box) box.setAttribute("aria-describedby", "composer-help");  // the server's line is gone
  }

  function adoptAll() {
    wrapOutbox();
    document.querySelectorAll("li.msg[data-id]").forEach(adopt);
    adoptReply();
  }

  H.on("stream-event", (frame) => {
    if (frame.type.startsWith("reaction.")) {
      const li = document.getElementById(`m${frame.message.id}`);
      if (li) drawReactions(li, frame.reactions);
    } else if (frame.type === "message.created" || frame.type === "message.edited") {
      window.setTimeout(() => decorate(frame.message), 0);
    } else if (frame.type === "message.redacted" || frame.type === "message.deleted") {
      window.setTimeout(() => { decorate(frame.message); originalGone(frame.message.id); }, 0);
    }
  });
  H.on("outbox:acked", (ack) => window.setTimeout(() => decorate(ack.message), 0));
  H.on("view:mount", () => window.setTimeout(adoptAll, 0));
  // A reply to me notifies like a mention (static/js/notify.js): only with the setting on, once over
  // every tab, and once for a reply that mentions me too (the same claim as notify.js's).
  function claimed(id) {
    const key = `notified.${id}`;
    if (H.store.get(key, false)) return true;
    H.store.set(key, true);
    window.setTimeout(() => H.store.remove(key), 60000);
    return false;
  }

  H.on("frame:reply", (notice) => {
    if (document.body.dataset.notify !== "1") return;
    if (!("Notification" in window) || Notification.permission !== "granted" || document.visibilityState !== "hidden") return;
    if (claimed(notice.message.id)) return;
    const shown = new Notification(`${notice.user.username} replied to you`, { tag: `hobbies-reply-${notice.message.id}` });
    shown.addEventListener("click", () => { window.focus(); window.location.href = notice.url; shown.close(); });
  });

  adoptAll();
  H.reactions = { decorate };
})(window.Hobbies);
