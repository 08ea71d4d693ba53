/* A message's actions. Each is a link to a page that works without JavaScript
   (chat/web/messages.py); here Edit opens an editor in the message itself, filled with the stored
   Markdown (Enter saves, Shift+Enter is a new line, Esc cancels; an unchanged save sends nothing),
   and Delete / Remove entirely ask first, then go over the socket. Without a connection the links
   lead to their pages. */
(function (H) {
  "use strict";

  let list = null;

  function notice(text) { H.emit("notice", text); }

  function closeEditor(li, { focus = true } = {}) {
    const editor = li.querySelector(".msg-editor");
    if (!editor) return;
    editor.remove();
    li.classList.remove("msg-editing");
    li.querySelector(".msg-body").hidden = false;
    const edit = li.querySelector('[data-action="edit"]');
    if (focus && edit) edit.focus();
  }

  function openEditor(li) {
    if (li.querySelector(".msg-editor")) { li.querySelector(".msg-editor textarea").focus(); return; }
    const source = li.dataset.source || "";
    const body = li.querySelector(".msg-body");
    const form = H.el("form", "msg-editor");
    const id = `edit-${li.dataset.id}`;
    const label = H.el("label", "visually-hidden", "Edit message");
    label.htmlFor = id;
    const box = H.el("textarea");
    box.id = id;
    box.value = source;
    box.rows = Math.min(8, Math.max(2, source.split("\n").length));
    box.setAttribute("aria-describedby", `${id}-help`);
    const help = H.el("p", "msg-editor-help muted", "Enter saves, Shift+Enter starts a new line, Esc cancels.");
    help.id = `${id}-help`;
    const error = H.el("p", "msg-editor-error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    const buttons = H.el("div", "msg-editor-buttons");
    const save = H.el("button", "button button-small button-primary", "Save");
    save.type = "submit";
    const cancel = H.el("button", "button button-small", "Cancel");
    cancel.type = "button";
    buttons.append(cancel, save);
    form.append(label, box, help, error, buttons);
    body.hidden = true;
    body.after(form);
    li.classList.add("msg-editing");
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);

    function submit() {
      const content = box.value;
      if (content === source) { closeEditor(li); return; }  // unchanged: nothing to store, no "(edited)"
      if (!content.trim()) {
        error.textContent = "A message cannot be empty: delete it instead.";
        error.hidden = false;
        return;
      }
      if (!H.live.send({ type: "message.edit", message: Number(li.dataset.id), content })) {
        error.textContent = "Not connected: your edit is not saved yet. Try again in a moment.";
        error.hidden = false;
        return;
      }
      li.classList.add("msg-saving");
      closeEditor(li);
    }

    form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
    cancel.addEventListener("click", () => closeEditor(li));
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); closeEditor(li); }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
    });
  }

  function onClick(event) {
    const action = event.target.closest("a[data-action]");
    if (!action || !list || !list.contains(action)) return;
    const li = action.closest(".msg");
    if (!H.live.connected) return;  // the link's page does it without the socket
    event.preventDefault();
    const id = Number(li.dataset.id);
    if (action.dataset.action === "edit") {
      openEditor(li);
    } else if (action.dataset.action === "redact") {
      if (window.confirm("Delete this message? Everyone will see “(Deleted)” in its place.")) {
        H.live.send({ type: "message.redact", message: id });
      }
    } else if (action.dataset.action === "delete") {
      if (window.confirm("Remove this message entirely? This cannot be undone.")) {
        H.live.send({ type: "message.delete", message: id });
      }
    }
  }

  H.on("frame:error", (frame) => {
    if (["message.edit", "message.redact", "message.delete"].includes(frame.ref)) {
      if (list) list.querySelectorAll(".msg-saving").forEach((li) => li.classList.remove("msg-saving"));
      notice(frame.message);
    }
  });

  H.on("view:mount", () => {
    list = document.getElementById("messages");
    if (list) list.addEventListener("click", onClick);
  });
  H.on("view:unmount", () => { list = null; });

  H.messageActions = { openEditor, closeEditor };
})(window.Hobbies);
