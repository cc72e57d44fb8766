// Small enhancements shared by every page. Everything works without this file.
(function () {
  "use strict";

  // Forms that destroy something ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // A button that prints the page (certificates), without an inline handler (CSP allows none).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });

  // A select that applies its filter as soon as it changes.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.hasAttribute && select.hasAttribute("data-autosubmit") && select.form) select.form.submit();
  });

  // A refused verdict or export is shown on its match, far down the page: bring it into view.
  var refusal = document.querySelector(".match [role=alert]");
  if (refusal) {
    refusal.setAttribute("tabindex", "-1");
    refusal.focus();
  }

  // A table wider than its box scrolls sideways (on a phone): keyboard users reach it with Tab and
  // scroll it with the arrow keys. Only such tables take a tab stop, so it follows the width.
  function scrollersMark() {
    document.querySelectorAll(".table-wrap").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) box.setAttribute("tabindex", "0");
      else box.removeAttribute("tabindex");
    });
  }
  scrollersMark();
  window.addEventListener("resize", scrollersMark);
  document.addEventListener("htmx:afterSettle", scrollersMark);

  // One-time secrets (passwords, API keys) get a copy button.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-button]");
    if (!button) return;
    var value = button.parentElement.querySelector("[data-copy]");
    if (!value || !navigator.clipboard) return;
    navigator.clipboard.writeText(value.textContent.trim()).then(function () {
      button.textContent = window.gettext ? window.gettext("Copied") : "Copied";
    });
  });
  // The order form shows only the fieldsets of the kind chosen (data-kind lists the kinds a
  // fieldset belongs to); without this script every fieldset shows, each titled with its kind.
  document.querySelectorAll("form[data-kind-form]").forEach(function (form) {
    var kind = form.querySelector("[name=kind]");
    if (!kind) return;
    function show() {
      form.querySelectorAll("fieldset[data-kind]").forEach(function (fieldset) {
        fieldset.hidden = fieldset.getAttribute("data-kind").split(" ").indexOf(kind.value) === -1;
      });
    }
    kind.addEventListener("change", show);
    show();
  });
})();
