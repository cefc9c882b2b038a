/*
 * vsys — the public finder's page script (/search/). The finder works without it; this only
 *  - fills the municipality list when the prefecture changes (from /search/municipalities),
 *  - offers "現在地から探す": asks the device for its location, puts it in the hidden lat/lng
 *    fields and sends the search (by point: the area fields are emptied),
 *  - leaves empty fields out of the query, so links stay short.
 */
(function () {
  "use strict";

  var form = document.getElementById("search-form");
  if (!form) return;
  var prefecture = document.getElementById("prefecture");
  var municipality = document.getElementById("municipality");
  var hint = document.getElementById("municipality-hint");
  var ja = (document.documentElement.lang || "ja").indexOf("ja") === 0;

  function option(value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }

  if (prefecture && municipality) {
    prefecture.addEventListener("change", function () {
      var code = prefecture.value;
      var all = form.getAttribute("data-all") || "";
      while (municipality.firstChild) municipality.removeChild(municipality.firstChild);
      municipality.appendChild(option("", all));
      if (hint) hint.hidden = !!code;
      if (!code) return;
      var url = form.getAttribute("data-municipalities") + "?prefecture=" + encodeURIComponent(code);
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (list) {
          if (prefecture.value !== code) return;
          list.forEach(function (m) {
            municipality.appendChild(option(m.code, m.name + (ja ? "（" + m.sites + "）" : " (" + m.sites + ")")));
          });
        })
        .catch(function () { /* the form still works: submitting shows the list */ });
    });
  }

  // 現在地から探す.
  var near = document.getElementById("near-me");
  var nearHint = document.getElementById("near-me-hint");
  var nearError = document.getElementById("near-me-error");
  if (near && navigator.geolocation) {
    near.hidden = false;
    if (nearHint) nearHint.hidden = false;
    near.addEventListener("click", function () {
      near.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          document.getElementById("lat").value = pos.coords.latitude.toFixed(5);
          document.getElementById("lng").value = pos.coords.longitude.toFixed(5);
          ["prefecture", "municipality", "postal_code"].forEach(function (id) {
            var el = document.getElementById(id);
            if (el) el.value = "";
          });
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        },
        function () {
          near.disabled = false;
          if (nearError) {
            nearError.textContent = near.getAttribute("data-error") || "";
            nearError.hidden = false;
          }
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 }
      );
    });
  }

  // Empty fields stay out of the query (they mean "not given" anyway).
  form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && (el.tagName === "INPUT" || el.tagName === "SELECT") &&
          el.type !== "checkbox" && el.value === "") {
        el.disabled = true;
      }
    });
  });
  // Coming back to the page (history), the fields are usable again.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(form.elements, function (el) {
      el.disabled = false;
    });
  });
})();
