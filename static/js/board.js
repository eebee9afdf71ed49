/* RAM Console Lab: the trainer board keeps itself current (progressive enhancement only).
 *
 * The page is rendered by the server and works without this file. With it, the board's JSON
 * (data-board-url) is read every data-board-interval milliseconds while the tab is visible, and
 * each trainee × exercise cell is updated in place, with the same words the server printed. Text
 * from the server is set with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  var table = document.querySelector("[data-board]");
  if (!table || !window.fetch) { return; }
  var url = table.getAttribute("data-board-url");
  var interval = parseInt(table.getAttribute("data-board-interval"), 10) || 5000;
  var status = document.querySelector("[data-board-status]");
  var changed = document.querySelector("[data-board-changed]");
  var timer = null;
  var stopped = false;
  var reading = false;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function renderCell(td, cell) {
    td.className = "board-cell board-" + cell.status;
    var badge = td.querySelector("[data-board-text]");
    badge.className = cell.status === "complete" ? "badge-status badge-active"
      : cell.status === "not-started" ? "console-hint" : "badge-status badge-inactive";
    badge.textContent = cell.text;
    td.querySelector("[data-board-time]").textContent = cell.time_spent;
    var steps = td.querySelector("[data-board-steps]");
    steps.replaceChildren.apply(steps, cell.steps.map(function (step) {
      var item = element("li", step.done ? "done" : step.current ? "current" : "");
      item.title = step.number + ". " + step.text;
      item.appendChild(element("span", "visually-hidden", step.number + ". " +
        table.getAttribute(step.done ? "data-board-done" : "data-board-not-done")));
      return item;
    }));
    var mistakes = td.querySelector("[data-board-mistakes]");
    mistakes.replaceChildren.apply(mistakes, cell.mistakes.map(function (text) { return element("li", "", text); }));
  }

  function renderRowMistakes(td, mistakes) {
    if (!mistakes.length) {
      td.replaceChildren(element("span", "console-hint", table.getAttribute("data-board-none")));
      return;
    }
    td.replaceChildren.apply(td, mistakes.map(function (text) {
      return element("div", "small text-danger-emphasis", text);
    }));
  }

  function apply(data) {
    var seen = {};
    data.rows.forEach(function (row) {
      seen[row.account] = true;
      var tr = table.querySelector('tr[data-account="' + row.account + '"]');
      if (!tr) { return; }
      row.cells.forEach(function (cell) {
        var td = tr.querySelector('td[data-exercise="' + cell.exercise + '"]');
        if (td) { renderCell(td, cell); }
      });
      var mistakes = tr.querySelector("[data-board-row-mistakes]");
      if (mistakes) { renderRowMistakes(mistakes, row.other_mistakes); }
    });
    var shown = table.querySelectorAll("tr[data-account]");
    var same = shown.length === data.rows.length;
    shown.forEach(function (tr) { same = same && seen[tr.getAttribute("data-account")] === true; });
    if (changed) { changed.hidden = same; }
    if (status) {
      var at = new Date(data.at);
      var time = at.toISOString().substring(11, 19);
      status.textContent = table.getAttribute("data-board-as-of").replace("{time}", time);
    }
  }

  function poll() {
    timer = null;
    if (reading) { return; }
    reading = true;
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!response.ok || response.redirected || !json) { throw new Error("board"); }
        return response.json();
      })
      .then(function (data) { reading = false; apply(data); schedule(); })
      .catch(function () {
        reading = false;
        // Logged out, or no longer a trainer: stop asking; the page says so and Refresh still works.
        stopped = true;
        if (status) { status.textContent = table.getAttribute("data-board-paused"); }
      });
  }

  function schedule() {
    if (stopped || reading || document.hidden || timer !== null) { return; }
    timer = window.setTimeout(poll, interval);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (timer !== null) { window.clearTimeout(timer); timer = null; }
    } else if (!stopped && timer === null) {
      poll();  // back on the tab: catch up at once
    }
  });
  schedule();
}());
