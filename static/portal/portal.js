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
