/* RAM Console Lab: progressive enhancement only. Every page works without this file. */
(function () {
  "use strict";

  // Profile menu: opens on hover and focus through CSS; a click toggles it for touch and mouse users.
  document.querySelectorAll("[data-profile-menu]").forEach(function (menu) {
    var button = menu.querySelector("button");
    var expanded = function (open) { button.setAttribute("aria-expanded", open ? "true" : "false"); };
    button.addEventListener("click", function () {
      menu.classList.remove("dismissed");
      expanded(menu.classList.toggle("open") || menu.matches(":focus-within"));
    });
    menu.addEventListener("mouseenter", function () { menu.classList.remove("dismissed"); });
    menu.addEventListener("focusin", function () { if (!menu.classList.contains("dismissed")) { expanded(true); } });
    menu.addEventListener("focusout", function (event) {
      if (!menu.contains(event.relatedTarget)) {
        menu.classList.remove("open", "dismissed");
        expanded(false);
      }
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        // Closed until the pointer or the focus comes back: focus returns to the profile picture.
        menu.classList.remove("open");
        menu.classList.add("dismissed");
        expanded(false);
        button.focus();
      } else if (event.key === "ArrowDown" && document.activeElement === button) {
        event.preventDefault();
        menu.classList.remove("dismissed");
        var first = menu.querySelector("[role=menuitem]");
        if (first) { first.focus(); }
      }
    });
  });

  // Links marked data-dialog open their page's dialog in a modal instead of navigating.
  var modalElement = document.getElementById("console-modal");
  function openDialog(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("navigate"); }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var dialog = doc.querySelector(".console-dialog");
        if (!dialog || !window.bootstrap) { throw new Error("navigate"); }
        var content = modalElement.querySelector("[data-modal-content]");
        content.replaceChildren(document.importNode(dialog, true));
        content.querySelectorAll("[data-dialog-close]").forEach(function (close) {
          close.setAttribute("data-bs-dismiss", "modal");
          close.addEventListener("click", function (event) { event.preventDefault(); });
        });
        enhance(content);
        var modal = window.bootstrap.Modal.getOrCreateInstance(modalElement);
        modal.show();
        modalElement.addEventListener("shown.bs.modal", function focusFirst() {
          var first = content.querySelector("input:not([type=hidden]), button, a[href]");
          if (first) { first.focus(); }
          modalElement.removeEventListener("shown.bs.modal", focusFirst);
        });
      })
      .catch(function () { window.location.href = url; });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-dialog]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    openDialog(link.href);
  });

  // Enhancements of content that can arrive later (a dialog in the modal).
  function enhance(root) {
    // A submit button enabled only while its checkbox is checked (the server checks it too).
    root.querySelectorAll("[data-requires-check]").forEach(function (button) {
      var box = root.querySelector("#" + button.getAttribute("data-requires-check"));
      if (!box) { return; }
      var sync = function () { button.disabled = !box.checked; };
      box.addEventListener("change", sync);
      sync();
    });
    // A delete button enabled only when the typed text matches.
    root.querySelectorAll("[data-confirm-text]").forEach(function (input) {
      var button = root.querySelector(input.getAttribute("data-confirm-button"));
      if (!button) { return; }
      var sync = function () { button.disabled = input.value.trim() !== input.getAttribute("data-confirm-text"); };
      input.addEventListener("input", sync);
      sync();
    });
    // Scenario radios show the safer alternative of the chosen scenario.
    root.querySelectorAll("[data-scenarios]").forEach(function (group) {
      var sync = function () {
        var chosen = group.querySelector("input[type=radio]:checked");
        root.querySelectorAll("[data-alternative]").forEach(function (panel) {
          panel.hidden = !chosen || panel.getAttribute("data-alternative") !== chosen.value;
        });
      };
      group.addEventListener("change", sync);
      sync();
    });
    // Copy buttons copy the value of their field.
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = root.querySelector("#" + button.getAttribute("data-copy"));
        if (!field) { return; }
        var done = function () {
          // The labels are the page's (translated): "Copied" from data-copied-label, then the label it had.
          var label = button.querySelector("[data-copy-label]");
          if (!label || !button.hasAttribute("data-copied-label")) { return; }
          var copy = label.getAttribute("data-copy-label") || label.textContent;
          label.setAttribute("data-copy-label", copy);
          label.textContent = button.getAttribute("data-copied-label");
          setTimeout(function () { label.textContent = copy; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () { field.select(); document.execCommand("copy"); done(); });
        } else { field.select(); document.execCommand("copy"); done(); }
      });
    });
    // Download CSV File: built in the browser from the values shown; the server cannot produce it again.
    root.querySelectorAll("[data-download-csv]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var id = root.querySelector("#" + link.getAttribute("data-id-field"));
        var secret = root.querySelector("#" + link.getAttribute("data-secret-field"));
        if (!id || !secret || !link.hasAttribute("data-csv-header")) { return; }
        event.preventDefault();
        // The header is the template's data-csv-header: Alibaba's, in every language.
        var csv = link.getAttribute("data-csv-header") + "\r\n" + id.value + "," + secret.value + "\r\n";
        var url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
        var a = document.createElement("a");
        a.href = url;
        a.download = link.getAttribute("download") || "AccessKey.csv";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      });
    });
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }
  enhance(document);
})();
