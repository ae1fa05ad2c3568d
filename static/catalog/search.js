/* Catalog pages: keyboard use of the header suggestions, the schema filter box, copy buttons. */
(function () {
  "use strict";
  if (window.catalogSearchLoaded) { return; }
  window.catalogSearchLoaded = true;

  function suggestionLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#search-suggestions a.suggestion"));
  }

  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("header-search");
    if (!box) { return; }
    var links = suggestionLinks();
    var index = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && (document.activeElement === box || index >= 0) && links.length) {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0) { box.focus(); } else { links[index - 1].focus(); }
    } else if (event.key === "Escape") {
      var list = document.getElementById("search-suggestions");
      if (list) { list.innerHTML = ""; }
    }
  });

  document.addEventListener("click", function (event) {
    var list = document.getElementById("search-suggestions");
    if (list && !event.target.closest(".header-search")) { list.innerHTML = ""; }
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy-target"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent).then(function () { copy.textContent = "Copied"; });
      }
    }
  });

  // Open the dataset tab named in the address (e.g. #curation after saving a curation).
  function showTabFromHash() {
    if (!window.location.hash || !window.bootstrap) { return; }
    var tab = document.querySelector('[data-bs-toggle="tab"][data-bs-target="' + window.location.hash.replace(/"/g, "") + '"]');
    if (tab) { window.bootstrap.Tab.getOrCreateInstance(tab).show(); }
  }
  document.addEventListener("DOMContentLoaded", showTabFromHash);
  window.addEventListener("hashchange", showTabFromHash);

  document.addEventListener("input", function (event) {
    var box = event.target.closest("[data-filter-table]");
    if (!box) { return; }
    var needle = box.value.trim().toLowerCase();
    var rows = document.querySelectorAll(box.getAttribute("data-filter-table") + " tbody tr[data-filter-text]");
    var shown = 0;
    rows.forEach(function (row) {
      var hit = !needle || row.getAttribute("data-filter-text").indexOf(needle) >= 0;
      row.classList.toggle("d-none", !hit);
      if (hit) { shown += 1; }
    });
    var empty = document.getElementById("schema-filter-empty");
    if (empty) { empty.classList.toggle("d-none", shown > 0 || rows.length === 0); }
  });
})();
