// Live progress of a job page: ask the job's status.json every few seconds and update the page
// in place; reload once the job has ended, so its result and download appear. Without
// JavaScript the page's <noscript> refresh does the same by reloading.
(function () {
  "use strict";
  var section = document.getElementById("job");
  if (!section || !window.fetch) {
    return;
  }
  var url = section.getAttribute("data-status-url");
  var interval = Math.max(1, Number(section.getAttribute("data-interval")) || 2) * 1000;
  var statusCell = document.getElementById("job-status");
  var labels = JSON.parse(statusCell.getAttribute("data-labels") || "{}");
  var hint = document.getElementById("job-hint");
  if (hint && hint.getAttribute("data-live")) {
    hint.textContent = hint.getAttribute("data-live");
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node && node.textContent !== text) {
      node.textContent = text;
    }
  }

  function show(job) {
    var bar = document.getElementById("job-progress");
    if (bar) {
      bar.value = job.progress;
      bar.textContent = job.progress + " %";
    }
    setText("job-percent", String(job.progress));
    setText("job-step", job.step_label);
    setText("job-detail", job.detail);
    setText("job-status", labels[job.status] || job.status);
    section.setAttribute("data-status", job.status);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (job.active) {
          window.setTimeout(poll, interval);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        // Logged out or the server is away: fall back to reloading the whole page.
        window.setTimeout(function () { window.location.reload(); }, interval * 5);
      });
  }

  window.setTimeout(poll, interval);
})();
