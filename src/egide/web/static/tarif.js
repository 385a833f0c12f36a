// The quote page: offer only the limit and deductible options of the chosen kind, and update the
// price when they change (the server prices; without this script the button does the same).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("questionnaire");
  if (!form) { return; }
  var kind = form.querySelector("[name='establishment.type']");
  var live = form.querySelectorAll("select[data-live]");
  function filterOptions() {
    live.forEach(function (select) {
      select.querySelectorAll("option[data-kinds]").forEach(function (option) {
        var offered = !kind.value || option.dataset.kinds.split(" ").indexOf(kind.value) >= 0;
        option.hidden = !offered;
        option.disabled = !offered;
      });
    });
  }
  if (kind) { kind.addEventListener("change", filterOptions); filterOptions(); }
  live.forEach(function (select) {
    select.addEventListener("change", function () {
      var result = document.getElementById("resultat");
      if (!result || !result.dataset.priced) { return; }
      fetch("/tarif/prix", { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var current = document.getElementById("resultat");
          if (current) { current.outerHTML = html; }
        });
    });
  });
});
