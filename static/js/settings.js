// Settings: turning browser notifications on asks the browser's permission at once (a click is
// the moment a browser allows that question), and says what the browser answered.
(function () {
  "use strict";
  const form = document.querySelector("form[data-notification-settings]");
  if (!form) return;
  const box = form.querySelector('input[name="notify_desktop"]');
  const status = document.getElementById("notification-permission");

  function show() {
    if (!("Notification" in window)) {
      status.textContent = "This browser does not show notifications.";
    } else if (Notification.permission === "denied") {
      status.textContent = "This browser blocks notifications from this site: allow them in its site settings.";
    } else if (Notification.permission === "granted") {
      status.textContent = "This browser shows notifications from this site.";
    } else {
      status.textContent = "The browser will ask whether this site may show notifications.";
    }
    status.hidden = !box.checked;
  }

  box.addEventListener("change", async () => {
    if (box.checked && "Notification" in window && Notification.permission === "default") {
      await Notification.requestPermission();
    }
    show();
  });
  show();
})();
