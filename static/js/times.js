/* Times in the reader's own locale and time zone. The server renders every time as
   <time datetime="ISO 8601">; this formats them all the same way, on load and for what arrives live,
   with the full date on hover (title). Day separators are named here too ("Today", "Yesterday"). */
(function (H) {
  "use strict";

  const SHORT = { hour: "numeric", minute: "2-digit" };
  const WITH_DAY = { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
  const FULL = { dateStyle: "full", timeStyle: "short" };

  function short(date) { return date.toLocaleTimeString([], SHORT); }
  function full(date) { return date.toLocaleString([], FULL); }

  // A day in the reader's zone, as a sortable key: "2026-11-24".
  function dayKey(date) {
    return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
  }

  function dayLabel(date) {
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayKey(date) === dayKey(today)) return "Today";
    if (dayKey(date) === dayKey(yesterday)) return "Yesterday";
    const options = { weekday: "long", month: "long", day: "numeric" };
    if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
    return date.toLocaleDateString([], options);
  }

  // Every <time datetime> under `root`: a message's shows the time only (its day is the separator's).
  function format(root) {
    (root || document).querySelectorAll("time[datetime]").forEach((time) => {
      const date = new Date(time.dateTime);
      if (Number.isNaN(date.getTime())) return;
      const inMessage = Boolean(time.closest(".msg-meta"));
      time.textContent = inMessage ? short(date) : date.toLocaleString([], WITH_DAY);
      time.title = full(date);
    });
  }

  function element(iso) {
    const time = document.createElement("time");
    time.dateTime = iso;
    const date = new Date(iso);
    time.textContent = short(date);
    time.title = full(date);
    return time;
  }

  H.times = { format, element, dayKey, dayLabel, short, full };
  format(document);
})(window.Hobbies);
