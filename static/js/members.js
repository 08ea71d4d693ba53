/* The members panel of the conversation: presence and status texts live, people joining, leaving,
   removed or banned, live; a button collapses the panel (remembered; collapsed by default on narrow
   screens). */
(function (H) {
  "use strict";

  let view = null;
  const NARROW = window.matchMedia("(max-width: 1000px)");

  function panelList() { return document.getElementById("presence"); }

  function row(userId) {
    const list = panelList();
    return list && list.querySelector(`[data-user-id="${userId}"]`);
  }

  function addMember(user) {
    const list = panelList();
    if (!list || !user || row(user.id)) return;
    const li = H.el("li");
    li.dataset.userId = user.id;
    li.dataset.status = "offline";
    const avatar = H.people.avatar(user, "avatar-small");
    avatar.append(H.el("span", "dot"));
    const text = H.el("span", "member-text");
    text.append(H.el("span", "name", user.username), " ", H.el("span", "status-text"));
    li.append(avatar, text, H.el("span", "visually-hidden status-word", "offline"));
    const after = Array.from(list.children).find((other) => other.querySelector(".name").textContent > user.username);
    list.insertBefore(li, after || null);
    count();
  }

  function removeMember(userId) {
    const li = row(userId);
    if (li) { li.remove(); count(); }
  }

  function count() {
    const heading = document.querySelector("#members-heading .muted");
    if (heading) heading.textContent = `(${panelList().children.length})`;
  }

  H.on("frame:presence", (frame) => {
    if (!view) return;
    frame.users.forEach((user) => {
      const li = row(user.id);
      if (!li) return;
      li.dataset.status = user.status;
      li.querySelector(".status-text").textContent = user.text || "";
      li.querySelector(".status-word").textContent = user.status;
    });
  });

  H.on("stream-event", (frame) => {
    if (!view || frame.stream !== view.stream || !frame.user) return;
    if (frame.type === "member.joined") addMember(frame.user);
    if (["member.left", "member.removed", "member.banned"].includes(frame.type)) {
      removeMember(frame.user.id);
      if (frame.user.id === H.me.id && frame.type !== "member.left") {
        H.emit("notice", frame.type === "member.banned" ? "You were banned from this channel." : "You were removed from this channel.");
      }
    }
  });

  function setCollapsed(collapsed, remember) {
    const panel = document.getElementById("members-panel");
    const toggle = document.getElementById("members-toggle");
    if (!panel || !toggle) return;
    panel.hidden = collapsed;
    toggle.setAttribute("aria-expanded", String(!collapsed));
    document.getElementById("conversation").classList.toggle("members-collapsed", collapsed);
    if (remember) H.store.set(NARROW.matches ? "members.collapsed.narrow" : "members.collapsed", collapsed);
  }

  H.on("view:mount", (current) => {
    view = current;
    const toggle = document.getElementById("members-toggle");
    if (!toggle) return;
    toggle.hidden = false;
    toggle.addEventListener("click", () => setCollapsed(toggle.getAttribute("aria-expanded") === "true", true));
    const key = NARROW.matches ? "members.collapsed.narrow" : "members.collapsed";
    setCollapsed(H.store.get(key, NARROW.matches), false);
  });
  H.on("view:unmount", () => { view = null; });
})(window.Hobbies);
