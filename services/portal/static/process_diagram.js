// Draws the process diagram of the page with bpmn-js (the NavigatedViewer, served from static/vendor):
// on the cockpit, each element's figures from the page's table (rows with data-element) as an overlay
// linking to the element's reports; on a report's page, the path it took (data-path) as markers. The
// table and the list stay what the page says; the diagram only shows it. No inline script: the portal's
// Content Security Policy allows scripts from the portal only.
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container || typeof window.BpmnJS === "undefined") {
    return;
  }
  var viewer = new window.BpmnJS({ container: container });

  function failed() {
    container.setAttribute("data-rendered", "failed");
    container.textContent = container.getAttribute("data-failed");
  }

  viewer.importXML(container.getAttribute("data-bpmn")).then(function () {
    var canvas = viewer.get("canvas");
    var overlays = viewer.get("overlays");
    var registry = viewer.get("elementRegistry");
    var links = {};
    canvas.zoom("fit-viewport");

    document.querySelectorAll("tr[data-element]").forEach(function (row) {
      var id = row.getAttribute("data-element");
      if (!registry.get(id)) {
        return;
      }
      links[id] = row.getAttribute("data-href");
      var figures = document.createElement("a");
      var empty = row.getAttribute("data-waiting") === "0" && row.getAttribute("data-median") === "—";
      figures.className = "figures-overlay" + (row.getAttribute("data-overdue") !== "0" ? " has-overdue" : "") +
        (empty ? " is-empty" : "");
      figures.href = links[id];
      figures.setAttribute("data-element", id);
      // The table holds the same figures and links for keyboards and screen readers: the overlay is for the eye.
      figures.setAttribute("aria-hidden", "true");
      figures.tabIndex = -1;
      figures.title = row.getAttribute("data-label");
      [["waiting", row.getAttribute("data-waiting")], ["overdue", row.getAttribute("data-overdue")],
       ["median", row.getAttribute("data-median")]].forEach(function (figure) {
        var part = document.createElement("span");
        part.className = figure[0];
        part.textContent = figure[1];
        figures.appendChild(part);
      });
      // Where reports are, not smaller than readable however far the diagram is zoomed out.
      overlays.add(id, "figures", { position: { bottom: 4, left: 0 }, scale: empty ? true : { min: 1 },
                                    html: figures });
    });

    (container.getAttribute("data-path") || "").split(" ").forEach(function (id) {
      if (id && registry.get(id)) {
        canvas.addMarker(id, "path-taken");
      }
    });

    viewer.get("eventBus").on("element.click", function (event) {
      if (links[event.element.id]) {
        window.location.href = links[event.element.id];
      }
    });
    container.setAttribute("data-rendered", "true");
  }).catch(failed);
}());
