/* Messages on their way: every `message.send` is kept here, in the tab and in localStorage, until the
   server acknowledges it, and sent again with its original client_msg_id whenever a socket says
   hello (the server answers a retry with the stored message, so nothing is doubled). A tab opened
   later, after a reload or a crash, sends what an earlier one could not.

     Hobbies.outbox.send(frame)      queue and send (now if connected)
     Hobbies.outbox.waiting(stream)  the frames not yet acknowledged for one stream (to show as pending)
     Hobbies.outbox.size()
   Emits "outbox:acked" (the ack frame) and "outbox:refused" ({ frame, error }): a refused send is
   not retried; its text goes back to its author.
*/
(function (H) {
  "use strict";

  const KEY = "outbox";
  const MAX_AGE_MS = 7 * 24 * 3600 * 1000;  // older than a week: forget it rather than surprise anyone
  const queue = new Map();

  (H.store.get(KEY, []) || []).forEach((frame) => {
    if (frame && frame.client_msg_id && Date.now() - (frame.queued_at || 0) < MAX_AGE_MS) queue.set(frame.client_msg_id, frame);
  });

  // localStorage is shared with this browser's other tabs: change one entry, keep theirs.
  function save(change) {
    const stored = new Map((H.store.get(KEY, []) || []).filter((frame) => frame && frame.client_msg_id)
      .map((frame) => [frame.client_msg_id, frame]));
    change(stored);
    if (stored.size) H.store.set(KEY, Array.from(stored.values()));
    else H.store.remove(KEY);
  }

  function wire(frame) {
    const copy = Object.assign({}, frame);
    delete copy.queued_at;
    return copy;
  }

  function send(frame) {
    const kept = Object.assign({ queued_at: Date.now() }, frame);
    queue.set(frame.client_msg_id, kept);
    save((stored) => stored.set(kept.client_msg_id, kept));
    H.emit("outbox:changed", queue.size);
    return H.live.send(wire(kept));
  }

  function settle(clientMsgId) {
    const frame = queue.get(clientMsgId);
    queue.delete(clientMsgId);
    save((stored) => stored.delete(clientMsgId));
    H.emit("outbox:changed", queue.size);
    return frame;
  }

  H.on("frame:hello", () => {
    (H.store.get(KEY, []) || []).forEach((frame) => { if (frame && frame.client_msg_id) queue.set(frame.client_msg_id, frame); });
    queue.forEach((frame) => H.live.send(wire(frame)));
  });

  H.on("frame:ack", (frame) => {
    if (queue.has(frame.client_msg_id)) settle(frame.client_msg_id);
    H.emit("outbox:acked", frame);
  });

  H.on("frame:error", (error) => {
    if (!error.client_msg_id || !queue.has(error.client_msg_id)) return;
    const frame = settle(error.client_msg_id);
    H.emit("outbox:refused", { frame: wire(frame), error });
  });

  H.outbox = {
    send,
    size: () => queue.size,
    waiting: (stream) => Array.from(queue.values()).filter((frame) => frame.stream === stream).map(wire),
  };
})(window.Hobbies);
