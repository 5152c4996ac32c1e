// Follow a broadcast's delivery: poll its status.json every few seconds while it sends.
(function () {
  var box = document.getElementById("live");
  if (!box) return;
  var url = box.getAttribute("data-url");
  function set(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = value;
  }
  function tick() {
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (response.status === 401) { window.location.reload(); return null; }
      return response.json();
    }).then(function (data) {
      if (!data) return;
      var totals = data.totals || {};
      ["queued", "sent", "delivered", "failed", "undelivered", "cancelled", "skipped"].forEach(function (key) {
        set("total-" + key, totals[key] || 0);
      });
      set("live-status", data.label || data.status);
      var labels = data.labels || {};
      Object.keys(data.counts || {}).forEach(function (channel) {
        var counts = data.counts[channel];
        set("counts-" + channel, Object.keys(counts).map(function (key) {
          return (labels[key] || key) + " " + counts[key];
        }).join(", "));
      });
      set("live-rate", data.rate === null ? "—" : data.rate + " %");
      var bar = document.getElementById("live-bar");
      if (bar) bar.style.width = (data.rate || 0) + "%";
      if ((totals.queued || 0) > 0 || data.status === "sending" || data.status === "scheduled") {
        setTimeout(tick, 3000);
      } else {
        set("live-note", box.getAttribute("data-done"));
        var cancel = document.getElementById("cancel-form");
        if (cancel && data.status !== "draft" && data.status !== "scheduled") cancel.style.display = "none";
      }
    }).catch(function () { setTimeout(tick, 10000); });
  }
  setTimeout(tick, 1000);
})();
