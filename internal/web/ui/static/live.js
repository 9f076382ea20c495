// Live updates: the server says "change" over server-sent events; the page fetches itself and
// swaps the part marked data-live, unless the reader is typing in it; boxes ticked stay ticked.
(function () {
  "use strict";
  var region = document.querySelector("[data-live]");
  if (!region || !window.EventSource) return;
  var status = document.getElementById("live");
  var busy = function () {
    var a = document.activeElement;
    if (a && region.contains(a) && /^(TEXTAREA|INPUT|SELECT)$/.test(a.tagName)) return true;
    var fields = region.querySelectorAll("textarea, input[type=text], input:not([type])");
    for (var i = 0; i < fields.length; i++) if (fields[i].value) return true;
    return false;
  };
  var refresh = function () {
    if (busy()) { status.textContent = "This incident changed. Reload to see it."; return; }
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.querySelector("[data-live]");
        if (next) {
          // What the reader ticked stays ticked (the incidents picked for a bulk action).
          region.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
            next.querySelectorAll("input[type=checkbox]").forEach(function (n) {
              if (n.name === box.name && n.value === box.value) n.checked = true;
            });
          });
          region.replaceWith(next); region = next; status.textContent = "Updated."; setTimeout(function () { status.textContent = ""; }, 3000);
        }
      })
      .catch(function () {});
  };
  var es = new EventSource("/events");
  es.addEventListener("change", refresh);
  es.onopen = function () { document.documentElement.dataset.live = "open"; };
})();
