/* The command palette (templates/partials/palette.html): "/" (outside a text field) or Ctrl+K / Cmd+K
   opens it anywhere; typing asks the search page for a compact list (fetch); ↑/↓ move through the
   results, Enter or a click opens the chosen one (or the first), Esc closes. The field is a combobox
   and the list a listbox of role=option items with aria-selected (no links inside: axe nested-interactive). No inline script or style (CSP). */
(function () {
  "use strict";

  function dialog() { return document.getElementById("palette"); }
  function input() { return document.getElementById("palette-q"); }
  function options() { return Array.prototype.slice.call(document.querySelectorAll("#palette-list [role=option][data-href]")); }

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function open() {
    var d = dialog();
    if (!d || d.open) return;
    d.showModal();
    var field = input();
    field.focus();
    field.select();
  }

  function activate(index) {
    var all = options();
    if (!all.length) return;
    var next = (index + all.length) % all.length;
    all.forEach(function (el, i) { el.setAttribute("aria-selected", i === next ? "true" : "false"); });
    input().setAttribute("aria-activedescendant", all[next].id);
    all[next].scrollIntoView({ block: "nearest" });
  }

  function current() {
    var all = options();
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("aria-selected") === "true") return i;
    return -1;
  }

  document.addEventListener("keydown", function (event) {
    var d = dialog();
    if (!d) return;
    var isK = (event.key === "k" || event.key === "K") && (event.ctrlKey || event.metaKey);
    if (!d.open && (isK || (event.key === "/" && !typing(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey))) {
      event.preventDefault();
      open();
      return;
    }
    if (!d.open || event.target !== input()) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      activate(current() + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      var all = options();
      var chosen = all[current()] || all[0];
      if (chosen) {
        event.preventDefault();
        window.location.assign(chosen.getAttribute("data-href"));
      }
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-palette-open]");
    if (opener && dialog()) {
      event.preventDefault();
      open();
      return;
    }
    var d = dialog();
    var option = event.target.closest && event.target.closest("#palette-list [role=option][data-href]");
    if (option && d && d.open) { // options are not links (no nested interactive content): a click opens one
      window.location.assign(option.getAttribute("data-href"));
      return;
    }
    if (d && d.open && event.target === d) d.close(); // a click on the backdrop
  });

  // Typing asks the search page for the compact list (the latest answer wins; 200 ms after the last key).
  var timer = null;
  var asked = 0;
  document.addEventListener("input", function (event) {
    var field = input();
    if (event.target !== field) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var ticket = ++asked;
      var url = field.getAttribute("data-palette-source") + "&q=" + encodeURIComponent(field.value);
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (ticket !== asked || !html) return;
          document.getElementById("palette-list").innerHTML = html;
          field.removeAttribute("aria-activedescendant");
          if (options().length) activate(0);
        });
    }, 200);
  });
})();
