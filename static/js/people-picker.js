// "New message": the people list follows what is typed (the same GET the Search button sends,
// templates/chat/direct_new.html), without reloading the page. Without JavaScript, Search does it.
(function () {
  "use strict";
  const form = document.querySelector("form[data-people-picker]");
  if (!form) return;
  const input = form.querySelector('input[name="q"]');
  const results = document.getElementById("people-results");
  let timer = null;
  let latest = "";

  async function search() {
    const query = input.value.trim();
    if (query === latest) return;
    latest = query;
    const url = new URL(form.action, window.location.href);
    url.searchParams.set("q", query);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok || query !== latest) return;  // an older answer arriving late
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("people-results");
      if (fresh) results.replaceChildren(...Array.from(fresh.childNodes, (node) => document.importNode(node, true)));
      window.history.replaceState(null, "", url);
    } catch (error) { /* Search still works */ }
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 200);  // one request per pause in typing
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); latest = null; search(); });
})();
