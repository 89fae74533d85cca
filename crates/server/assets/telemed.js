// telemed's own small script (no inline scripts: the CSP forbids them).
// - A select with data-autosubmit submits its form on change (the language picker).
// - A button with data-confirm asks before submitting.
// - A button with data-copy copies the text of the element it names.
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("select[data-autosubmit]") && t.form) { t.form.requestSubmit ? t.form.requestSubmit() : t.form.submit(); }
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-confirm],[data-copy]") : null;
    if (!b) { return; }
    if (b.hasAttribute("data-confirm") && !window.confirm(b.getAttribute("data-confirm"))) { e.preventDefault(); return; }
    if (b.hasAttribute("data-copy")) {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (el && navigator.clipboard) { navigator.clipboard.writeText(el.textContent.trim()); }
    }
  });
})();
