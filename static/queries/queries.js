// Schema browser of the query page: a click on a table or column name inserts it at the editor's cursor.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-insert]");
    var editor = document.getElementById("sql-editor");
    if (!button || !editor) { return; }
    var text = button.dataset.insert;
    var start = editor.selectionStart, end = editor.selectionEnd;
    editor.value = editor.value.slice(0, start) + text + editor.value.slice(end);
    editor.focus();
    editor.selectionStart = editor.selectionEnd = start + text.length;
  });
})();
