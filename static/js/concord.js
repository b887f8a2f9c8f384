/* Concord UI behaviour. The Content-Security-Policy allows scripts from this origin only (no inline
   scripts, no inline event handlers, no eval), so the pages say what they need with data attributes
   and this file does it, on page load and on every piece of content htmx swaps in (htmx.onLoad).

   data-chart="<kind>" data-chart-data="<id of a json_script>"   a Chart.js chart (kinds below)
   data-height="<px>"                                            an element's height, set from script
   data-autosubmit                                               submit the form when the field changes
   data-action="row-up|row-down|row-remove|dim-remove|line-remove|toggle|nav|copy"   button behaviours
   data-check-all="<selector>"                                   a checkbox that (un)checks others
   data-selected-count="<selector>" (on a checkbox)              "n selected" for the boxes it controls
   data-trigger-on-load="<event>"                                htmx-trigger the element once loaded
   data-choose="<select selector>" data-value="<value>"          once loaded, choose the value in that
                                                                 select (a "change" event follows)
*/
(function () {
  "use strict";
  document.documentElement.classList.add("js");  // the small-screen menu folds only when this runs

  function money(v) {
    return Number(v).toLocaleString(undefined, { minimumFractionDigits: 0, maximumFractionDigits: 2 });
  }
  function palette(n) {
    var out = [];
    for (var i = 0; i < n; i++) {
      out.push("hsl(" + Math.round((220 + i * 137.5) % 360) + ", 62%, " + (42 + (i % 3) * 9) + "%)");
    }
    return out;
  }
  function moneyTip(c) { return money(c.raw); }
  function labelledMoneyTip(c) { return c.dataset.label + ": " + money(c.raw); }
  function thousands(v) { return Number(v).toLocaleString(); }
  function nums(list) { return list.map(Number); }

  var CHARTS = {
    ingestion: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels.map(function (l) { return l.slice(5); }), datasets: [
          { label: "Accepted", data: d.accepted, backgroundColor: "#0f7b4f" },
          { label: "Duplicates", data: d.duplicates, backgroundColor: "#9aa6b2" },
          { label: "Rejected", data: d.rejected, backgroundColor: "#b42318" }] },
        options: { animation: false, maintainAspectRatio: false, scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true } },
          y: { stacked: true, beginAtZero: true, ticks: { callback: thousands } } } }
      };
    },
    usage: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels, datasets: [{ label: d.label, data: nums(d.values), backgroundColor: "#1f4fd1" }] },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, ticks: { callback: thousands } },
            x: { ticks: { maxRotation: 0, autoSkip: true,
              callback: function (v) { return this.getLabelForValue(v).slice(5); } } } } }
      };
    },
    rpo: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels, datasets: [{ data: nums(d.values), backgroundColor: ["#1f4fd1", "#5b7fe0", "#9db3ee"] }] },
        options: { maintainAspectRatio: false, plugins: { legend: { display: false }, tooltip: { callbacks: { label: moneyTip } } },
          scales: { y: { beginAtZero: true, ticks: { callback: money } } } }
      };
    },
    revenue: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels, datasets: [{ label: "Net revenue", data: nums(d.values), backgroundColor: "#1f4fd1" }] },
        options: { indexAxis: "y", maintainAspectRatio: false,
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: moneyTip } } },
          scales: { x: { beginAtZero: true, ticks: { callback: money } } } }
      };
    },
    waterfall: function (d) {
      var colors = palette(d.datasets.length);
      return {
        type: "bar",
        data: { labels: d.labels, datasets: d.datasets.map(function (s, i) {
          return { label: s.label, data: nums(s.data), backgroundColor: s.label === "Not yet billed" ? "#6b7785" : colors[i] };
        }) },
        options: { maintainAspectRatio: false, plugins: { legend: { position: "right" },
          tooltip: { callbacks: { label: labelledMoneyTip } } },
          scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: money } } } }
      };
    },
    deferred: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels, datasets: [{ data: nums(d.values), backgroundColor: ["#6b7785", "#1f4fd1", "#0f7b4f", "#17212b"] }] },
        options: { maintainAspectRatio: false, plugins: { legend: { display: false }, tooltip: { callbacks: { label: moneyTip } } },
          scales: { y: { ticks: { callback: money } } } }
      };
    },
    unbilled: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels, datasets: [{ data: nums(d.values), backgroundColor: ["#0f7b4f", "#1f4fd1", "#a15c00", "#b42318"] }] },
        options: { maintainAspectRatio: false, plugins: { legend: { display: false }, tooltip: { callbacks: { label: moneyTip } } },
          scales: { y: { beginAtZero: true, ticks: { callback: money } } } }
      };
    },
    mrr: function (d) {
      var sets = d.movements.map(function (m) {
        return { type: "bar", label: m.label, data: nums(m.data), backgroundColor: m.color, stack: "moves", order: 2 };
      });
      sets.push({ type: "line", label: "MRR at month end", data: nums(d.closing), borderColor: "#17212b",
        backgroundColor: "#17212b", yAxisID: "mrr", tension: 0, order: 1 });
      return {
        type: "bar",
        data: { labels: d.labels, datasets: sets },
        options: { maintainAspectRatio: false, plugins: { tooltip: { callbacks: { label: labelledMoneyTip } } },
          scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: money },
            title: { display: true, text: "Movements" } },
            mrr: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: money },
              title: { display: true, text: "MRR" } } } }
      };
    },
    bookings: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels, datasets: [
          { label: "Bookings", data: nums(d.bookings), backgroundColor: "#9db3ee" },
          { label: "Billings", data: nums(d.billings), backgroundColor: "#1f4fd1" },
          { label: "Revenue", data: nums(d.revenue), backgroundColor: "#0f7b4f" }] },
        options: { maintainAspectRatio: false, plugins: { tooltip: { callbacks: { label: labelledMoneyTip } } },
          scales: { y: { ticks: { callback: money } } } }
      };
    },
    schedule: function (d) {
      var sets = [
        { label: "Recognized (fixed)", data: nums(d.recognized), backgroundColor: "#0f7b4f" },
        { label: "Scheduled, not yet recognized", data: nums(d.remaining), backgroundColor: "#9db3ee" }
      ];
      if (d.usage.some(function (v) { return Number(v) !== 0; })) {
        sets.splice(1, 0, { label: "Usage (as invoiced)", data: nums(d.usage), backgroundColor: "#a15c00" });
      }
      return {
        type: "bar",
        data: { labels: d.labels, datasets: sets },
        options: { maintainAspectRatio: false, plugins: { tooltip: { callbacks: { label: labelledMoneyTip } } },
          scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { callback: money } } } }
      };
    }
  };

  var live = [];

  function each(root, selector, fn) {
    if (root.matches && root.matches(selector)) { fn(root); }
    root.querySelectorAll(selector).forEach(fn);
  }

  function drawCharts(root) {
    if (!window.Chart) { return; }
    live = live.filter(function (chart) {  // charts whose canvas htmx swapped out
      if (chart.canvas && chart.canvas.isConnected) { return true; }
      chart.destroy();
      return false;
    });
    each(root, "canvas[data-chart]", function (canvas) {
      var build = CHARTS[canvas.dataset.chart], source = document.getElementById(canvas.dataset.chartData);
      if (!build || !source || window.Chart.getChart(canvas)) { return; }
      live.push(new window.Chart(canvas, build(JSON.parse(source.textContent))));
    });
  }

  function updateCount(master) {
    var out = document.querySelector(master.dataset.selectedCount);
    if (!out) { return; }
    var n = 0;
    document.querySelectorAll(master.dataset.checkAll).forEach(function (b) { if (b.checked) { n++; } });
    out.textContent = n ? n + " selected" : "";
  }

  function setUp(root) {
    each(root, "[data-height]", function (el) { el.style.height = el.dataset.height + "px"; });
    drawCharts(root);
    each(root, "[data-trigger-on-load]", function (el) {
      if (window.htmx) { window.htmx.trigger(el, el.dataset.triggerOnLoad); }
    });
    each(root, "[data-choose]", function (el) {
      var select = document.querySelector(el.dataset.choose);
      if (select && select.value !== el.dataset.value) {
        select.value = el.dataset.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    each(root, "input[type=month]", monthHint);
  }

  // An empty month picker renders as "--------- ----" in Chromium: until it is used it is a text field
  // saying what to type (YYYY-MM, the value the server reads either way, so the keyboard works too);
  // a click brings the picker back, and it rests as text again when left empty.
  function monthHint(input) {
    input.placeholder = input.placeholder || "YYYY-MM";
    input.pattern = input.pattern || "[0-9]{4}-[0-9]{2}";
    input.addEventListener("click", function () {
      if (input.type === "text" && !input.value) {
        input.type = "month";
        if (input.showPicker) { try { input.showPicker(); } catch (e) { /* not allowed here */ } }
      }
    });
    input.addEventListener("blur", function () { if (!input.value) { input.type = "text"; } });
    if (!input.value) { input.type = "text"; }
  }

  function pricingChanged(form) {
    if (form && window.htmx) { window.htmx.trigger(form, "pricing-changed"); }
  }

  var ACTIONS = {
    "row-up": function (button) {
      var row = button.closest("tr"), prev = row.previousElementSibling;
      if (prev) { row.after(prev); pricingChanged(button.form); }
    },
    "row-down": function (button) {
      var row = button.closest("tr"), next = row.nextElementSibling;
      if (next) { row.before(next); pricingChanged(button.form); }
    },
    "row-remove": function (button) {
      var row = button.closest("tr"), form = button.form;
      if (row.parentElement.children.length > 1) { row.remove(); pricingChanged(form); }
    },
    "dim-remove": function (button) {
      var form = button.form;
      button.closest(".dim-row").remove();
      pricingChanged(form);
    },
    "line-remove": function (button) {
      var fields = document.getElementById("amend-fields");
      button.closest("tr").remove();
      if (fields && window.htmx) { window.htmx.trigger(fields, "change"); }
    },
    toggle: function (button) {
      var target = document.getElementById(button.getAttribute("aria-controls")), open = target.hidden;
      target.hidden = !open;
      button.setAttribute("aria-expanded", open);
    },
    nav: function (button) {
      var sidebar = button.closest(".sidebar"), open = !sidebar.classList.contains("nav-open");
      sidebar.classList.toggle("nav-open", open);
      button.setAttribute("aria-expanded", open);
    },
    copy: function (button) {
      if (navigator.clipboard) {
        navigator.clipboard.writeText(button.dataset.secret).then(function () { button.textContent = "Copied ✓"; });
      }
    }
  };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (button && ACTIONS[button.dataset.action]) { ACTIONS[button.dataset.action](button); }
  });
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-autosubmit]") && el.form) { el.form.submit(); }
    if (el.matches("[data-check-all]")) {
      document.querySelectorAll(el.dataset.checkAll).forEach(function (b) { b.checked = el.checked; });
    }
    document.querySelectorAll("[data-check-all][data-selected-count]").forEach(function (master) {
      if (el === master || el.matches(master.dataset.checkAll)) { updateCount(master); }
    });
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) { event.target.select(); }
  });

  if (window.htmx) {
    window.htmx.onLoad(setUp);
  } else {
    document.addEventListener("DOMContentLoaded", function () { setUp(document.body); });
  }
})();
