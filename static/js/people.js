/* People as the pages show them: initials avatars in one of 12 stable colours (the same rule as
   chat/templatetags/chat_display.py), presence dots, and my own @mentions told apart from others'. */
(function (H) {
  "use strict";

  const COLOURS = 12;

  function initials(name) {
    const words = String(name || "").split(/[\s._+\-@]+/).filter(Boolean);
    if (!words.length) return "?";
    if (words.length === 1) return words[0].slice(0, 2).toUpperCase();
    return (words[0][0] + words[1][0]).toUpperCase();
  }

  function colour(id) {
    return (Number(id) || 0) % COLOURS;
  }

  function avatar(user, extra) {
    const span = H.el("span", `avatar avatar-c${colour(user && user.id)}${extra ? ` ${extra}` : ""}`,
      initials(user ? user.username : "?"));
    span.setAttribute("aria-hidden", "true");
    return span;
  }

  function isMe(mention) {
    return mention.textContent.trim().toLowerCase() === `@${H.me.username.toLowerCase()}`;
  }

  // Marks my own mentions under `root` (server-rendered pages come marked already).
  function markMentions(root) {
    root.querySelectorAll(".mention").forEach((mention) => mention.classList.toggle("mention-me", isMe(mention)));
  }

  function mentionsMe(html) {
    const template = document.createElement("template");
    template.innerHTML = html || "";
    return Array.from(template.content.querySelectorAll(".mention")).some(isMe);
  }

  function plainText(html) {
    const template = document.createElement("template");
    template.innerHTML = html || "";
    return template.content.textContent.replace(/\s+/g, " ").trim();
  }

  // Presence dots anywhere on the page (the sidebar's direct messages, the members panel's avatars).
  H.on("frame:presence", (frame) => {
    frame.users.forEach((user) => {
      document.querySelectorAll(`[data-presence-user="${user.id}"]`).forEach((dot) => { dot.dataset.status = user.status; });
    });
  });

  H.people = { initials, colour, avatar, markMentions, mentionsMe, plainText };
})(window.Hobbies);
