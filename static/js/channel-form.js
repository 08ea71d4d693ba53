// Add channel form: show Mode only for private standard channels and the elastic settings only
// for elastic ones. Without JavaScript every field shows and the server ignores what does not apply.
(function () {
  "use strict";
  var form = document.querySelector("[data-channel-form]");
  if (!form) return;
  var mode = document.getElementById("mode-settings");
  var elastic = document.getElementById("elastic-settings");

  function checked(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function update() {
    var isElastic = checked("channel_type") === "elastic";
    var offersMode = checked("privacy") === "private" && !isElastic;
    mode.classList.toggle("js-hidden", !offersMode);
    elastic.classList.toggle("js-hidden", !isElastic);
    elastic.querySelectorAll("input").forEach(function (input) { input.disabled = !isElastic; });
    mode.querySelectorAll("input").forEach(function (input) { input.disabled = !offersMode; });
  }

  form.addEventListener("change", update);
  update();
})();
