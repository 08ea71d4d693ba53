/* The message list of the conversation on screen: renders messages the way
   templates/chat/_message.html does, keeps them in seq order, groups a person's messages within five
   minutes and separates days (in the reader's zone), and manages scrolling: the page opens at the
   newest message or at "New messages", stays at the bottom while there, offers "Jump to latest"
   when scrolled up, and "Load older" keeps what is being read in place. */
(function (H) {
  "use strict";

  const GROUP_MS = 5 * 60 * 1000;
  let view = null;
  let list = null;
  let scroller = null;
  let jump = null;
  let stick = true;  // at the bottom: stay there as messages arrive and images load
  let unseen = 0;  // messages arrived below while scrolled up
  let placedAt = null;  // the scrollTop this script last set: a scroll event there is not the reader's
  let observer = null;

  function messageUrl(id, what) {
    return view.messageUrl.replace(/\/0\/edit\/$/, `/${id}/${what}/`);
  }

  function link(text, href, action, extra) {
    const a = H.el("a", `msg-action${extra ? ` ${extra}` : ""}`, text);
    a.href = href;
    if (action) a.dataset.action = action;
    return a;
  }

  function actionsFor(message) {
    const mine = message.author && message.author.id === H.me.id;
    const box = H.el("div", "msg-actions");
    if (mine) box.append(link("Edit", messageUrl(message.id, "edit"), "edit"));
    if (mine || view.manages || view.admin) box.append(link("Delete", messageUrl(message.id, "delete"), "redact"));
    if (view.admin) box.append(link("Remove entirely", messageUrl(message.id, "remove"), "delete", "danger"));
    if (message.author && !mine) box.append(link("Report", view.reportUrl.replace("/0/", `/${message.id}/`), null, "msg-report"));
    return box;
  }

  function render(message) {
    const li = H.el("li", "msg");
    li.id = `m${message.id}`;
    li.dataset.id = message.id;
    li.dataset.authorId = message.author ? message.author.id : "";
    li.dataset.author = message.author ? message.author.username : "";
    const row = H.el("div", "msg-row");
    const main = H.el("div", "msg-main");
    const meta = H.el("div", "msg-meta");
    const edited = H.el("span", "msg-edited", "(edited)");
    meta.append(H.el("span", "msg-author", message.author ? message.author.username : "(gone)"), " ",
      H.times.element(message.created_at), " ", edited);
    main.append(meta, H.el("div", "msg-body"));
    row.append(H.people.avatar(message.author), main);
    li.append(row);
    fill(li, message);
    return li;
  }

  function fill(li, message) {
    li.dataset.seq = message.seq;
    li.classList.toggle("msg-redacted", Boolean(message.redacted));
    li.classList.remove("msg-pending", "msg-saving");
    li.querySelector(".msg-edited").hidden = !message.edited_at || message.redacted;
    const body = li.querySelector(".msg-body");
    if (message.redacted) body.replaceChildren(H.el("em", "", "(Deleted)"));
    else body.innerHTML = message.html;  // sanitised on the server when stored (chat/rendering.py)
    H.people.markMentions(body);
    const main = li.querySelector(".msg-main");
    main.querySelectorAll(".attachments").forEach((old) => old.remove());
    const files = (message.metadata || {}).attachments;
    if (!message.redacted && files && files.length && window.Attachments) main.append(window.Attachments.render(files));
    if (message.author && message.author.id === H.me.id && !message.redacted) li.dataset.source = message.content;
    else delete li.dataset.source;
    const row = li.querySelector(".msg-row");
    row.querySelectorAll(".msg-actions").forEach((old) => old.remove());
    if (!message.redacted && typeof message.id === "number") row.append(actionsFor(message));
  }

  // A message being sent: shown at once, replaced by the stored one when acknowledged.
  function pending(frame) {
    let li = list.querySelector(`[data-client-msg-id="${frame.client_msg_id}"]`);
    if (li) return li;
    li = render({ id: `pending-${frame.client_msg_id}`, seq: "", author: H.me, html: "", content: frame.content,
      created_at: new Date(frame.queued_at || Date.now()).toISOString(), edited_at: null, redacted: false });
    li.querySelector(".msg-body").textContent = frame.content;
    li.dataset.clientMsgId = frame.client_msg_id;
    li.classList.add("msg-pending");
    li.querySelector(".msg-meta").append(H.el("span", "msg-state", "sending…"));
    append(li);
    return li;
  }

  function dropPending(clientMsgId) {
    const li = list && list.querySelector(`[data-client-msg-id="${clientMsgId}"]`);
    if (li) { li.remove(); relayout(); }
  }

  function find(message) {
    let li = document.getElementById(`m${message.id}`);
    if (!li && message.client_msg_id) {
      li = list.querySelector(`[data-client-msg-id="${message.client_msg_id}"]`);
      if (li) { li.id = `m${message.id}`; li.dataset.id = message.id; delete li.dataset.clientMsgId; }
    }
    return li;
  }

  function upsert(message) {
    if (!list) return null;
    let li = find(message);
    if (li) {
      const wasPending = li.classList.contains("msg-pending");
      fill(li, message);
      li.querySelectorAll(".msg-state").forEach((state) => state.remove());
      if (wasPending) place(li);
      relayout();
      return li;
    }
    li = render(message);
    place(li);
    return li;
  }

  // In seq order among the stored messages; pending ones stay last.
  function place(li) {
    const seq = Number(li.dataset.seq);
    const after = Array.from(list.querySelectorAll(".msg:not(.msg-pending)"))
      .find((other) => other !== li && Number(other.dataset.seq) > seq);
    if (after) {
      list.insertBefore(li, after);
      relayout();
    } else if (li.classList.contains("msg-pending") || !list.querySelector(".msg-pending")) {
      append(li);
    } else {
      list.insertBefore(li, list.querySelector(".msg-pending"));
      relayout();
    }
  }

  function append(li) {
    const wasAtBottom = stick;
    const empty = document.getElementById("empty-note");
    if (empty) empty.remove();
    list.append(li);
    relayout();
    if (wasAtBottom || li.dataset.authorId === String(H.me.id)) scrollToBottom();
    else { unseen += 1; updateJump(); }
  }

  function remove(id) {
    const li = document.getElementById(`m${id}`);
    if (li) { li.remove(); relayout(); }
  }

  // Day separators and grouping, in the reader's zone, over the whole list (a few hundred at most).
  function relayout() {
    if (!list) return;
    let previous = null;
    list.querySelectorAll(".msg").forEach((li) => {
      const time = li.querySelector(".msg-meta time");
      const date = new Date(time ? time.dateTime : Date.now());
      const day = H.times.dayKey(date);
      let divider = li.querySelector(":scope > .day-divider");
      const newDay = !previous || previous.day !== day;
      if (newDay && !divider) {
        divider = H.el("div", "day-divider");
        divider.append(H.el("span"));
        li.prepend(divider);
      }
      if (newDay) divider.firstElementChild.textContent = H.times.dayLabel(date);
      else if (divider) divider.remove();
      const grouped = Boolean(previous) && !newDay && li.dataset.authorId !== "" && previous.author === li.dataset.authorId
        && date - previous.date < GROUP_MS && !li.querySelector(".unread-divider")
        && !previous.li.classList.contains("msg-redacted");
      li.classList.toggle("msg-continued", grouped);
      previous = { li, day, date, author: li.dataset.authorId };
    });
  }

  function markUnread(li) {
    if (!li || list.querySelector(".unread-divider")) return;
    const divider = H.el("div", "unread-divider");
    divider.append(H.el("span", "", "New messages"));
    const day = li.querySelector(":scope > .day-divider");
    if (day) day.after(divider); else li.prepend(divider);
    relayout();
  }

  function clearUnread() {
    if (list) list.querySelectorAll(".unread-divider").forEach((divider) => divider.remove());
    relayout();
  }

  // Scrolling: only the message list scrolls; the composer stays at the bottom.
  function distance() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight; }

  function scrollTo(top) {
    scroller.scrollTop = top;
    placedAt = scroller.scrollTop;
  }

  function scrollToBottom() {
    scrollTo(scroller.scrollHeight);
    stick = true;
    unseen = 0;
    updateJump();
  }

  function updateJump() {
    if (!jump) return;
    jump.hidden = distance() < 150;
    jump.lastChild.textContent = unseen ? ` Jump to latest (${unseen} new)` : " Jump to latest";
  }

  function onScroll() {
    if (placedAt !== null && Math.abs(scroller.scrollTop - placedAt) < 2) {
      // The scroll this script made; the list may have grown since (images, late styles): keep to the bottom.
      if (stick && distance() > 1) scrollToBottom(); else updateJump();
      return;
    }
    placedAt = null;
    stick = distance() < 40;
    if (stick) unseen = 0;
    updateJump();
  }

  function openAt() {
    const target = window.location.hash.match(/^#m\d+$/) && document.getElementById(window.location.hash.slice(1));
    const divider = list.querySelector(".unread-divider");
    if (target || divider) {
      const top = (target || divider).getBoundingClientRect().top - scroller.getBoundingClientRect().top;
      scrollTo(scroller.scrollTop + top - (target ? scroller.clientHeight / 3 : 8));
      stick = distance() < 40;
      if (target) target.classList.add("msg-target");
      updateJump();
    } else {
      scrollToBottom();
    }
  }

  async function loadOlder(event) {
    const older = event.target.closest("#load-older");
    if (!older) return;
    event.preventDefault();
    if (older.getAttribute("aria-busy") === "true") return;
    older.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(`${view.olderUrl}&before=${older.dataset.before}`, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      // What is being read stays where it is: the first message text in view is the anchor.
      const anchor = Array.from(list.querySelectorAll(".msg-body"))
        .find((row) => row.getBoundingClientRect().bottom > scroller.getBoundingClientRect().top);
      const before = anchor ? anchor.getBoundingClientRect().top : 0;
      list.insertAdjacentHTML("afterbegin", data.html);
      if (data.has_older) {
        older.dataset.before = data.oldest_seq;
        older.href = older.href.replace(/before=\d+/, `before=${data.oldest_seq}`);
      } else {
        older.parentElement.remove();
      }
      H.times.format(list);
      H.people.markMentions(list);
      relayout();
      if (anchor) scrollTo(scroller.scrollTop + anchor.getBoundingClientRect().top - before);
    } catch (error) {
      H.emit("notice", "Could not load older messages.");
    } finally {
      older.removeAttribute("aria-busy");
    }
  }

  function mount(current) {
    view = current;
    list = document.getElementById("messages");
    scroller = document.getElementById("scroller");
    jump = document.getElementById("jump-latest");
    if (!list || !scroller) return;
    H.times.format(list);
    H.people.markMentions(list);
    relayout();
    scroller.addEventListener("scroll", onScroll, { passive: true });
    scroller.addEventListener("click", loadOlder);
    if (jump) jump.addEventListener("click", () => { scrollToBottom(); clearUnread(); });
    observer = new ResizeObserver(() => { if (stick) scrollToBottom(); else updateJump(); });
    observer.observe(list);
    observer.observe(scroller);  // the box growing with its text shrinks the list's window
    stick = true;
    unseen = 0;
    openAt();
  }

  function unmount() {
    if (observer) observer.disconnect();
    view = list = scroller = jump = observer = null;
  }

  H.timeline = {
    mount, unmount, render, upsert, pending, dropPending, remove, relayout, markUnread, clearUnread, scrollToBottom,
    atBottom: () => stick,
    find: (id) => document.getElementById(`m${id}`),
  };
})(window.Hobbies);
