(function () {
  "use strict";
  // The scorecard served by rubrics serve: drafts kept on the server as the interviewer
  // types, "Submit scorecard" posts to the server, and a refusal is shown field by field.
  // The link's token is the page's own path (/i/TOKEN); it goes as the bearer token.
  var form = document.getElementById("scorecard");
  var statusLine = document.getElementById("status");
  var token = decodeURIComponent(window.location.pathname.split("/")[2] || "");
  var auth = { "Authorization": "Bearer " + token };

  {% include "scorecard-collect.js" %}

  function report(message, isError) {
    statusLine.textContent = message;
    statusLine.className = isError ? "error" : "";
  }

  {% include "scorecard-fill.js" %}

  // Drafts: saved on the server a moment after the last keystroke.
  var pending = null;
  function keepDraft() {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(function () {
      pending = null;
      fetch("/api/drafts", { method: "PUT", headers: auth, body: JSON.stringify(collect()) })
        .then(function (r) { if (!r.ok) { report("Your draft could not be saved (" + r.status + ").", true); } })
        .catch(function () { report("Your draft could not be saved: is the network down?", true); });
    }, 800);
  }

  fetch("/api/drafts", { headers: auth }).then(function (r) { return r.ok ? r.json() : null; })
    .then(function (found) {
      if (found && found.data) {
        fill(found.data);
        report("Restored your draft of " + new Date(found.saved_at).toLocaleString() + ".", false);
      }
    }).catch(function () { /* no draft: an empty form */ });

  form.addEventListener("input", keepDraft);
  form.addEventListener("change", keepDraft);

  // A refused field gets its message beside it.
  function place(field) {
    var parts = field.split(".");
    var head = parts[0], rest = parts.slice(1).join(".");
    if (head === "ratings" || head === "evidence") {
      var blocks = form.querySelectorAll("fieldset.criterion");
      for (var i = 0; i < blocks.length; i++) {
        if (blocks[i].getAttribute("data-criterion") === rest) {
          return blocks[i].querySelector(head === "ratings" ? ".rating" : ".evidence");
        }
      }
    }
    if (head === "recommendation") { return form.querySelector("fieldset.recommend"); }
    if (head === "red_flags") { return form.querySelector("section.flags"); }
    var el = form.elements.namedItem(head);
    return el && el.parentNode ? el.parentNode : null;
  }

  function clearProblems() {
    var old = form.querySelectorAll("p.problem");
    for (var i = 0; i < old.length; i++) { old[i].remove(); }
  }

  function showProblems(problems) {
    var general = [];
    for (var i = 0; i < problems.length; i++) {
      var where = problems[i].field ? place(problems[i].field) : null;
      if (!where) { general.push(problems[i].message); continue; }
      var note = document.createElement("p");
      note.className = "problem";
      note.textContent = problems[i].message;
      where.appendChild(note);
    }
    var first = form.querySelector("p.problem");
    if (first) { first.scrollIntoView({ block: "center" }); }
    report(problems.length + (problems.length === 1 ? " problem" : " problems") +
           " to fix before it can be submitted" + (general.length ? ": " + general.join("; ") : "."), true);
  }

  {% include "scorecard-bar.js" %}

  document.getElementById("save").addEventListener("click", function () {
    clearProblems();
    var url = "/api/submissions";
    var reason = value("amend_reason");
    if (reason) { url += "?amend=true&reason=" + encodeURIComponent(reason); }
    var body = JSON.stringify(collect(), null, 2) + "\n";
    report("Submitting…", false);
    fetch(url, { method: "POST", headers: auth, body: body }).then(function (r) {
      return r.json().then(function (answer) { return { status: r.status, answer: answer }; });
    }).then(function (got) {
      if (got.status === 201 || got.status === 200) {
        report("Submitted: scorecard " + got.answer.submission + " for this stage. Thank you.", false);
      } else if (got.status === 422) {
        showProblems(got.answer.problems || []);
      } else {
        report((got.answer && got.answer.detail) || ("Not submitted (" + got.status + ")."), true);
      }
    }).catch(function () { report("Not submitted: the server could not be reached. Try again.", true); });
  });
})();
