// Channel details: confirm destructive actions, and suggest user names while adding members.
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  var addForm = document.querySelector("form[data-member-search]");
  if (!addForm) return;
  var input = addForm.querySelector('input[name="username"]');
  var list = document.getElementById("member-suggestions");
  var searchUrl = addForm.getAttribute("data-member-search");
  var timer = null;
  var lastQuery = "";

  function search() {
    var query = input.value.trim();
    if (!query || query === lastQuery) return;
    lastQuery = query;
    fetch(searchUrl + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { users: [] }; })
      .then(function (data) {
        if (query !== lastQuery) return; // an older answer arriving late
        list.replaceChildren();
        data.users.forEach(function (user) {
          var option = document.createElement("option");
          option.value = user.username;
          list.appendChild(option);
        });
      })
      .catch(function () { /* suggestions are a convenience; typing the full name still works */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 200); // debounced: one request per pause in typing
  });
})();
