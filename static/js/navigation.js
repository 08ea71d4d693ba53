/* Switching conversations without a reload: a click on a link to a conversation fetches that page,
   swaps the main content, and keeps the sidebar and the socket (so presence and unread counts stay
   live). The address bar, Back and Forward behave as with links; anything unexpected (an error, a
   redirect to another page) falls back to a normal navigation, and without JavaScript the links
   are plain links. */
(function (H) {
  "use strict";

  const CONVERSATION = /^\/channels\/\d+\/messages\/$/;
  let loading = null;

  function isConversation(url) {
    return url.origin === window.location.origin && CONVERSATION.test(url.pathname);
  }

  async function go(href, push) {
    const url = new URL(href, window.location.href);
    if (loading) loading.abort();
    const controller = new AbortController();
    loading = controller;
    document.body.classList.add("is-loading");
    try {
      const response = await fetch(url, { credentials: "same-origin", signal: controller.signal });
      const landed = new URL(response.url);
      if (!response.ok || !isConversation(landed)) throw new Error("not a conversation");
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const main = page.getElementById("main");
      if (!main || !main.querySelector("#conversation")) throw new Error("not a conversation");
      H.conversation.unmount();
      document.getElementById("main").replaceChildren(...Array.from(main.childNodes, (node) => document.importNode(node, true)));
      document.body.className = page.body.className;
      document.title = page.title;
      if (push) window.history.pushState({ conversation: true }, "", landed.href + url.hash);
      H.conversation.mount();
      if (!document.getElementById("composer")) document.getElementById("main").focus({ preventScroll: true });
    } catch (error) {
      if (error.name === "AbortError") return;
      window.location.assign(url.href);
    } finally {
      if (loading === controller) { loading = null; document.body.classList.remove("is-loading"); }
    }
  }

  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, window.location.href);
    if (!isConversation(url) || !document.getElementById("main")) return;
    event.preventDefault();
    go(url.href, true);
  });

  window.addEventListener("popstate", () => {
    if (isConversation(new URL(window.location.href))) go(window.location.href, false);
    else window.location.reload();
  });

  // The first page's entry, so Back to it swaps as well.
  if (isConversation(new URL(window.location.href))) window.history.replaceState({ conversation: true }, "");

  H.navigation = { go };
})(window.Hobbies);
