/* Browser notifications, for a person who turned them on in their settings (Profile.notify_desktop,
   notify_sound; body data-notify, data-notify-sound): an @mention of them or a direct message,
   while this tab is hidden, raises a notification (and a short tone, made with Web Audio: no sound
   file). One tab notifies: the one that saw the message first claims it in localStorage. */
(function (H) {
  "use strict";

  const wanted = document.body.dataset.notify === "1";
  const sound = document.body.dataset.notifySound === "1";

  function claimed(id) {
    // Several tabs receive the same message: the first to claim it notifies.
    const key = `notified.${id}`;
    if (H.store.get(key, false)) return true;
    H.store.set(key, true);
    setTimeout(() => H.store.remove(key), 60000);
    return false;
  }

  function tone() {
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      const audio = new Context();
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.35);
      oscillator.addEventListener("ended", () => audio.close());
    } catch (error) { /* no audio here: the notification is enough */ }
  }

  function notify(frame) {
    const message = frame.message;
    const direct = H.sidebar && H.sidebar.isDirect(frame.channel);
    const where = direct ? "" : ` in ${H.sidebar ? H.sidebar.channelName(frame.channel) : "a channel"}`;
    const shown = new Notification(`${message.author.username}${where}`, {
      body: H.people.plainText(message.html).slice(0, 200) || "(a file)",
      tag: `hobbies-${message.id}`,
    });
    shown.addEventListener("click", () => {
      window.focus();
      const url = `/channels/${frame.channel}/messages/`;
      if (H.navigation) H.navigation.go(url, true); else window.location.href = url;
      shown.close();
    });
    if (sound) tone();
  }

  H.on("stream-event", (frame) => {
    if (!wanted || frame.type !== "message.created" || document.visibilityState !== "hidden") return;
    const message = frame.message;
    if (!message.author || message.author.id === H.me.id) return;
    if (!("Notification" in window) || Notification.permission !== "granted" || !H.sidebar) return;
    // A conversation someone just opened with me is listed after the sidebar's next refresh.
    H.sidebar.whenKnown(frame.channel, (channel) => {
      if (!(channel && channel.direct) && !H.people.mentionsMe(message.html)) return;
      if (!claimed(message.id)) notify(frame);
    });
  });
})(window.Hobbies);
