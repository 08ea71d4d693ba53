/* The message box, fixed under the message list: Enter sends (Shift+Enter is a new line), the box
   grows with its text, a draft is kept per conversation, files come by the paperclip button (a real
   button, in the tab order), drag-and-drop or paste (attachments.js). Sending goes through the
   outbox: shown at once as pending, sent when connected, kept across reloads while offline. A
   refused send comes back into the box with the reason. The line above the box says when the
   connection is down. */
(function (H) {
  "use strict";

  const OFFLINE = "Offline — messages will be sent when you are back";
  let view = null;
  let form = null;
  let box = null;
  let uploads = null;
  let sendWhenReady = false;
  let lastTyping = 0;
  const withFiles = new Set();  // client_msg_ids whose send carries the current uploads

  function showError(text) {
    const error = document.getElementById("composer-error");
    if (!error) { H.emit("notice", text); return; }
    error.textContent = text;
    error.hidden = !text;
  }

  function grow() {
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight + 2, 200)}px`;
  }

  function saveDraft() { H.store.set(`draft.${view.stream}`, box.value); }

  function submit(event) {
    event.preventDefault();  // never a form post from here: a dead server would lose the text
    const content = box.value;
    const files = uploads ? uploads.getAttachmentIds() : [];
    if (uploads && uploads.isBusy()) {
      sendWhenReady = true;
      showError("Your message will be sent when your files have finished uploading.");
      return;
    }
    if (!content.trim() && !files.length) return;
    const frame = { type: "message.send", channel: view.channel, stream: view.stream, content, client_msg_id: H.uuid() };
    if (files.length) { frame.attachments = files; withFiles.add(frame.client_msg_id); }
    showError("");
    H.timeline.pending(Object.assign({ queued_at: Date.now() }, frame));
    H.outbox.send(frame);
    box.value = "";
    saveDraft();
    grow();
    connectionLine();
  }

  function onKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  }

  function onInput() {
    grow();
    saveDraft();
    const now = Date.now();
    if (now - lastTyping > 2000 && view.member) {
      lastTyping = now;
      H.live.send({ type: "typing", channel: view.channel, stream: view.stream });
    }
  }

  function connectionLine() {
    const line = document.getElementById("connection-state");
    if (!line) return;
    const state = H.live.state;
    if (state === "open" || state === "connecting") { line.hidden = true; line.textContent = ""; return; }
    line.textContent = state === "offline" || H.outbox.size() ? OFFLINE : "Reconnecting…";
    line.hidden = false;
  }

  H.on("connection", connectionLine);
  H.on("outbox:changed", connectionLine);

  H.on("outbox:acked", (ack) => {
    if (uploads && withFiles.delete(ack.client_msg_id)) uploads.clear();
  });

  H.on("outbox:refused", ({ frame, error }) => {
    withFiles.delete(frame.client_msg_id);
    if (!view || frame.stream !== view.stream) { H.emit("notice", `A message was not sent: ${error.message}`); return; }
    H.timeline.dropPending(frame.client_msg_id);
    if (box) {
      box.value = box.value.trim() ? `${frame.content}\n${box.value}` : frame.content;
      saveDraft();
      grow();
      box.focus();
    }
    showError(`Not sent: ${error.message}`);
  });

  function mount(current) {
    view = current;
    form = document.getElementById("composer");
    if (!form) return;
    box = form.querySelector("textarea");
    if (!box.value) box.value = H.store.get(`draft.${view.stream}`, "") || "";
    const input = document.getElementById("attach-files");
    const attach = document.getElementById("attach-button");
    if (input && attach && window.Attachments) {
      attach.hidden = false;
      attach.addEventListener("click", () => input.click());
      uploads = window.Attachments.init({
        form, input, dropZone: document.getElementById("conversation"), listEl: document.getElementById("uploads"),
        channelId: view.channel, csrfToken: form.querySelector("[name=csrfmiddlewaretoken]").value,
        startUrl: view.attachmentStartUrl,
        // A send pressed while files were still uploading goes out once the last one is ready.
        onChange: (state) => { if (sendWhenReady && !state.isBusy()) { sendWhenReady = false; form.requestSubmit(); } },
      });
    }
    form.addEventListener("submit", submit);
    box.addEventListener("keydown", onKey);
    box.addEventListener("input", onInput);
    grow();
    connectionLine();
    if (!window.location.hash.match(/^#m\d+$/)) box.focus({ preventScroll: true });
  }

  function unmount() {
    view = form = box = uploads = null;
    withFiles.clear();
    sendWhenReady = false;
  }

  H.composer = { mount, unmount, showError };
})(window.Hobbies);
