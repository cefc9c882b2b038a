/*
 * vsys — all page JavaScript (inline scripts are forbidden by the CSP).
 * Load with <script src="/static/app.js" defer></script>; works with or
 * without htmx on the page (all handlers are delegated on document).
 *
 *  - htmx requests get an X-CSRF-Token header from <meta name="csrf-token">.
 *  - <form data-confirm="…"> (or a submit button with data-confirm) asks
 *    confirm() before submitting and cancels if declined.
 *  - <button data-copy="text"> copies text to the clipboard; optional
 *    data-copied="label" is shown briefly as feedback.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  // (a) CSRF header on every htmx request.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token && event.detail && event.detail.headers) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // (b) Confirmation before submitting. Capture phase, so it runs before
  // htmx's own submit handler on the form and can stop it.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      var submitter = event.submitter;
      var message =
        (submitter && submitter.getAttribute("data-confirm")) ||
        form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // (c) Copy to clipboard.
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return fallbackCopy(text);
      });
    }
    return fallbackCopy(text);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    var ja = (document.documentElement.lang || "ja").toLowerCase().indexOf("ja") === 0;
    copyText(button.getAttribute("data-copy") || "").then(
      function () {
        var done = button.getAttribute("data-copied") || (ja ? "コピーしました" : "Copied");
        if (button.getAttribute("data-copy-label") === null) {
          button.setAttribute("data-copy-label", button.textContent);
        }
        button.textContent = done;
        window.clearTimeout(button._copyTimer);
        button._copyTimer = window.setTimeout(function () {
          button.textContent = button.getAttribute("data-copy-label");
          button.removeAttribute("data-copy-label");
        }, 2000);
      },
      function () {
        window.alert(ja ? "コピーできませんでした。" : "Could not copy.");
      }
    );
  });
})();
