/* Attachments for the message box: paperclip, drag-and-drop and pasted images; a progress bar
   and a cancel button per file. Plain JS, no build step.

     const box = Attachments.init({
       form,          // the message form (paste is listened for on it)
       input,         // <input type="file" multiple> behind the paperclip button
       dropZone,      // element files can be dropped on (defaults to form)
       listEl,        // <ul> the uploads are listed in
       channelId,     // the channel the message goes to
       csrfToken,     // Django's CSRF token (sent to our own views only, never to S3)
       startUrl,      // {% url 'chat-attachment-start' %}
       onChange,      // optional: called whenever an upload starts, progresses, ends or goes
     });
     box.getAttachmentIds()  // ids of finished uploads, for the send frame
     box.isBusy()            // true while a file is still uploading (wait before sending)
     box.clear()             // after the send was acknowledged: forget the list (files now belong to it)

     Attachments.render(items, { baseUrl })  // a message's metadata.attachments -> <ul> (live messages)

   An upload goes: POST startUrl (JSON) -> multipart POST of the bytes with XMLHttpRequest (upload
   progress) to our upload view (local) or to the bucket's pre-signed POST (S3) -> POST
   completeUrl (S3: the server checks the object). Cancel aborts the request and asks the server
   to delete the upload, so a cancelled file is never attached.
*/
(function (global) {
  "use strict";

  const INLINE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} bytes`;
    const units = ["KB", "MB", "GB"];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toFixed(1)} ${units[unit]}`;
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  async function postJson(url, csrfToken, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) throw new Error(data.error || `The server refused the file (HTTP ${response.status}).`);
    return data;
  }

  function init(options) {
    const { form, input, listEl, channelId, csrfToken, startUrl } = options;
    const dropZone = options.dropZone || form;
    const onChange = options.onChange || function () {};
    const items = [];

    function changed() { onChange(controller); }

    function row(item) {
      const li = element("li", "upload-item");
      li.dataset.testid = "upload";
      const name = element("span", "upload-name", item.file.name);
      name.title = `${item.file.name} (${formatSize(item.file.size)})`;
      const bar = element("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", `Upload of ${item.file.name}`);
      const percent = element("span", "upload-percent", "0 %");
      percent.setAttribute("aria-live", "polite");
      const cancel = element("button", "link-button upload-cancel", "Remove");
      cancel.type = "button";
      cancel.setAttribute("aria-label", `Remove ${item.file.name}`);
      cancel.addEventListener("click", () => remove(item));
      li.append(name, bar, percent, cancel);
      item.el = li;
      item.bar = bar;
      item.percent = percent;
      listEl.append(li);
    }

    function progress(item, fraction) {
      const value = Math.min(100, Math.round(fraction * 100));
      item.bar.value = value;
      item.percent.textContent = `${value} %`;
      changed();
    }

    function fail(item, message) {
      item.status = "error";
      item.xhr = null;
      item.el.classList.add("upload-error");
      item.el.append(element("span", "upload-error-text", message));
      item.bar.hidden = true;
      item.percent.textContent = "";
      changed();
    }

    function send(item, upload) {
      // XMLHttpRequest rather than fetch: only it reports upload progress.
      return new Promise((resolve, reject) => {
        const data = new FormData();
        Object.entries(upload.fields || {}).forEach(([key, value]) => data.append(key, value));
        data.append(upload.fileField, item.file);  // last: S3 ignores fields after the file
        const xhr = new XMLHttpRequest();
        item.xhr = xhr;
        xhr.open("POST", upload.url);
        if (upload.backend === "local") {
          xhr.setRequestHeader("X-CSRFToken", csrfToken);
          xhr.setRequestHeader("Accept", "application/json");
        }
        xhr.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) progress(item, event.loaded / event.total);
        });
        xhr.addEventListener("load", () => {
          item.xhr = null;
          if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
          let message = "The storage refused the file.";
          try { message = JSON.parse(xhr.responseText).error || message; } catch (e) { /* S3 answers XML */ }
          reject(new Error(message));
        });
        xhr.addEventListener("error", () => { item.xhr = null; reject(new Error("The upload failed: network error.")); });
        xhr.addEventListener("abort", () => { item.xhr = null; reject(new Error("cancelled")); });
        xhr.send(data);
      });
    }

    async function start(item) {
      item.status = "uploading";
      changed();
      try {
        const started = await postJson(startUrl, csrfToken, {
          channel: channelId, name: item.file.name, size: item.file.size, type: item.file.type,
        });
        item.id = started.id;
        item.cancelUrl = started.cancelUrl;
        if (item.status === "cancelled") { discard(item); return; }
        await send(item, started.upload);
        if (started.upload.backend === "s3") await postJson(started.completeUrl, csrfToken);
        if (item.status === "cancelled") { discard(item); return; }
        item.status = "done";
        progress(item, 1);
        item.el.classList.add("upload-done");
      } catch (error) {
        if (item.status !== "cancelled") fail(item, error.message);
      }
    }

    function discard(item) {
      // Tell the server, so the upload is deleted (and its quota freed); never attached.
      if (item.id && item.cancelUrl) postJson(item.cancelUrl, csrfToken).catch(() => {});
      item.id = null;
    }

    function remove(item) {
      const wasDone = item.status === "done";
      item.status = "cancelled";
      if (item.xhr) item.xhr.abort();
      if (wasDone || item.id) discard(item);
      const index = items.indexOf(item);
      if (index >= 0) items.splice(index, 1);
      item.el.remove();
      changed();
    }

    function addFiles(files) {
      Array.from(files || []).forEach((file) => {
        const item = { file, status: "new", id: null };
        items.push(item);
        row(item);
        start(item);
      });
    }

    function pastedName(file, index) {
      // Pasted screenshots all arrive as "image.png": give each a distinct, dated name.
      const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
      const extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
      return `pasted-${stamp}${index ? `-${index}` : ""}.${extension}`;
    }

    if (input) {
      input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
    }
    if (dropZone) {
      ["dragenter", "dragover"].forEach((type) => dropZone.addEventListener(type, (event) => {
        if (!event.dataTransfer || !Array.from(event.dataTransfer.types || []).includes("Files")) return;
        event.preventDefault();
        dropZone.classList.add("attach-drop-active");
      }));
      ["dragleave", "drop"].forEach((type) => dropZone.addEventListener(type, () => {
        dropZone.classList.remove("attach-drop-active");
      }));
      dropZone.addEventListener("drop", (event) => {
        if (!event.dataTransfer || !event.dataTransfer.files.length) return;
        event.preventDefault();
        addFiles(event.dataTransfer.files);
      });
    }
    if (form) {
      form.addEventListener("paste", (event) => {
        const pasted = Array.from((event.clipboardData && event.clipboardData.items) || [])
          .filter((entry) => entry.kind === "file" && entry.type.startsWith("image/"))
          .map((entry, index) => {
            const file = entry.getAsFile();
            return file && new File([file], pastedName(file, index), { type: file.type });
          })
          .filter(Boolean);
        if (!pasted.length) return;  // text pastes as usual
        event.preventDefault();
        addFiles(pasted);
      });
    }

    const controller = {
      addFiles,
      getAttachmentIds: () => items.filter((item) => item.status === "done").map((item) => item.id),
      isBusy: () => items.some((item) => item.status === "uploading"),
      hasErrors: () => items.some((item) => item.status === "error"),
      clear() {
        items.splice(0).forEach((item) => item.el.remove());
        changed();
      },
    };
    return controller;
  }

  function render(list, options) {
    const baseUrl = ((options && options.baseUrl) || "/attachments/").replace(/\/?$/, "/");
    const ul = element("ul", "attachments");
    ul.setAttribute("aria-label", "Attachments");
    (list || []).forEach((item) => {
      const li = element("li", "attachment");
      li.dataset.attachmentId = item.id;
      const href = `${baseUrl}${encodeURIComponent(item.id)}/`;
      const chip = () => {
        const a = element("a", "attachment-chip");
        a.href = href;
        a.download = item.name;
        a.dataset.testid = "attachment-chip";
        // An SVG paperclip (templates/chat/_icon.html): no emoji font needed.
        const icon = element("span", "attachment-icon");
        if (global.Hobbies) icon.append(global.Hobbies.icon("paperclip"));
        a.append(icon, element("span", "attachment-name", item.name),
          element("span", "attachment-meta", `${formatSize(item.size)} · ${item.type}`));
        return a;
      };
      if (INLINE_TYPES.has(item.type)) {
        const a = element("a", "attachment-preview");
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener";
        a.title = `${item.name} (${formatSize(item.size)})`;
        a.dataset.testid = "attachment-preview";
        const img = element("img");
        img.alt = item.name;
        img.loading = "lazy";
        img.src = `${href}thumbnail/`;
        img.addEventListener("error", () => a.replaceWith(chip()));  // no thumbnail: a chip instead
        a.append(img);
        li.append(a);
      } else {
        li.append(chip());
      }
      ul.append(li);
    });
    return ul;
  }

  global.Attachments = { init, render, formatSize };
})(window);
