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
// Tell the server the browser's time zone, so times show in local time.
(function () {
  "use strict";
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("telemed_tz=" + encodeURIComponent(tz)) < 0) {
      document.cookie = "telemed_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* older browsers: times stay in UTC */ }
})();
