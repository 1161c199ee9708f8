// hostmgr panel: live instance stats, following logs, confirmations.
// The pages work without it; this only keeps them fresh.
(function () {
  "use strict";

  var STATS_EVERY_MS = 3000;
  var LOGS_EVERY_MS = 2000;

  function later(fn, ms) {
    // Skip rounds while the tab is hidden, and catch up when it shows again.
    window.setTimeout(function () {
      if (document.hidden) {
        document.addEventListener("visibilitychange", fn, { once: true });
      } else {
        fn();
      }
    }, ms);
  }

  function getJson(url) {
    return window.fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  function setText(root, field, text) {
    var node = root.querySelector('[data-field="' + field + '"]');
    if (node && node.textContent !== text) {
      node.textContent = text;
    }
    return node;
  }

  function showStats(card, stats) {
    card.dataset.status = stats.instance_status;
    var badge = setText(card, "status", stats.instance_status);
    if (badge) {
      badge.className = "badge status-" + stats.instance_status;
    }
    setText(card, "cpu", stats.cpu_percent.toFixed(1) + " %");
    setText(card, "memory", stats.memory_usage + " of " + stats.memory_limit);
    var cpuBar = card.querySelector('[data-field="cpu-bar"]');
    if (cpuBar) {
      cpuBar.value = Math.min(100, stats.cpu_percent);
    }
    var memoryBar = card.querySelector('[data-field="memory-bar"]');
    if (memoryBar) {
      memoryBar.value = Math.min(100, stats.memory_percent);
    }
  }

  function watchStats(card) {
    var url = card.dataset.statsUrl;
    function round() {
      getJson(url).then(function (stats) {
        showStats(card, stats);
        later(round, STATS_EVERY_MS);
      }).catch(function (error) {
        // Signed out or no longer allowed: stop asking.
        if (error.status === 401 || error.status === 403 || error.status === 404) {
          return;
        }
        later(round, STATS_EVERY_MS * 2);
      });
    }
    round();
  }

  function watchLogs(pre) {
    var url = pre.dataset.logsUrl;
    var follow = document.getElementById("follow");
    var state = document.querySelector("[data-logs-state]");
    function atBottom() {
      return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
    }
    function round() {
      if (follow && !follow.checked) {
        later(round, LOGS_EVERY_MS);
        return;
      }
      var stick = atBottom();
      getJson(url).then(function (body) {
        if (pre.textContent !== body.logs) {
          pre.textContent = body.logs;
          if (stick) {
            pre.scrollTop = pre.scrollHeight;
          }
        }
        if (state) {
          state.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
        }
        later(round, LOGS_EVERY_MS);
      }).catch(function (error) {
        if (state) {
          state.textContent = "Logs could not be read (" + error.message + ").";
        }
        if (error.status !== 401 && error.status !== 403) {
          later(round, LOGS_EVERY_MS * 2);
        }
      });
    }
    pre.scrollTop = pre.scrollHeight;
    round();
  }

  function start() {
    document.querySelectorAll("[data-stats-url]").forEach(watchStats);
    document.querySelectorAll("[data-logs-url]").forEach(watchLogs);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) {
          event.preventDefault();
        }
      });
    });
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
