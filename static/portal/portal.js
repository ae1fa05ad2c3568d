// Behaviour shared by every page. The Content-Security-Policy allows no inline script or event
// handler, so templates declare intent in data- attributes and this file wires it up.

// <form data-confirm="Question?">: ask before submitting (replaces onsubmit="return confirm(...)").
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// <div id="panel" data-poll="URL" data-poll-every="SECONDS">: live progress. Every SECONDS the element
// is replaced by the element with the same id in URL's answer; polling goes on while the fresh copy
// still carries data-poll (a panel drops the attribute at a final state, which stops it). The one
// polling helper of the portal: sync runs, pipeline progress and runs, workspace status.
(function () {
  "use strict";

  function schedule(element) {
    if (!element.id || element.dataset.pollScheduled) { return; }
    element.dataset.pollScheduled = "1";
    var seconds = parseFloat(element.dataset.pollEvery || "2");
    window.setTimeout(function () { refresh(element); }, (isNaN(seconds) ? 2 : seconds) * 1000);
  }

  function retryLater(element) {
    delete element.dataset.pollScheduled;
    schedule(element);
  }

  function refresh(element) {
    if (!document.body.contains(element)) { return; }  // swapped away by something else
    fetch(element.dataset.poll, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(element.id);
        if (!fresh || !document.body.contains(element)) { retryLater(element); return; }
        element.replaceWith(fresh);
        if (window.htmx) { window.htmx.process(fresh); }  // its buttons may be htmx ones
        scan(fresh);
      })
      .catch(function () { retryLater(element); });  // a blip: try again at the same pace
  }

  function scan(root) {
    if (root.matches && root.matches("[data-poll]")) { schedule(root); }
    if (root.querySelectorAll) { root.querySelectorAll("[data-poll]").forEach(schedule); }
  }

  scan(document);
  // Content htmx swaps in (a "Run now" or "Stop" answer) may start polling too.
  document.addEventListener("htmx:load", function (event) { scan(event.target); });
})();
