(function () {
  "use strict";
  // The scorecard served by rubrics serve: drafts kept on the server as the interviewer
  // types, "Submit scorecard" posts to the server, and a refusal is shown field by field.
  // The link's token is the page's own path (/i/TOKEN); it goes as the bearer token.
  var form = document.getElementById("scorecard");
  var statusLine = document.getElementById("status");
  var token = decodeURIComponent(window.location.pathname.split("/")[2] || "");
  var auth = { "Authorization": "Bearer " + token };

  function value(name) {
    var el = form.elements.namedItem(name);
    return el && typeof el.value === "string" ? el.value.trim() : "";
  }

  function checked(name) {
    var picked = form.querySelector('input[name="' + name + '"]:checked');
    return picked ? picked.value : null;
  }

  function collect() {
    var ratings = {};
    var evidence = {};
    var blocks = form.querySelectorAll("fieldset.criterion");
    for (var i = 0; i < blocks.length; i++) {
      var n = i + 1;
      var id = blocks[i].getAttribute("data-criterion");
      var rating = checked("rating-" + n);
      ratings[id] = rating && rating !== "na" ? parseInt(rating, 10) : null;
      var text = value("evidence-" + n);
      if (text) { evidence[id] = text; }
    }
    var flags = [];
    var boxes = form.querySelectorAll('input[type="checkbox"][data-flag]');
    for (var j = 0; j < boxes.length; j++) {
      if (boxes[j].checked) { flags.push(boxes[j].getAttribute("data-flag")); }
    }
    return {
      format: "rubrics-submission/1",
      pack_id: form.getAttribute("data-pack-id"),
      stage: form.getAttribute("data-stage"),
      candidate_id: form.getAttribute("data-candidate-id"),
      interviewer: value("interviewer"),
      interviewer_email: value("interviewer_email") || undefined,
      interviewed_on: value("interviewed_on") || null,
      ratings: ratings,
      evidence: evidence,
      red_flags: flags,
      notes: value("notes"),
      recommendation: checked("recommendation")
    };
  }

  function report(message, isError) {
    statusLine.textContent = message;
    statusLine.className = isError ? "error" : "";
  }

  function setRadio(name, value) {
    var radios = form.querySelectorAll('input[name="' + name + '"]');
    for (var i = 0; i < radios.length; i++) { radios[i].checked = radios[i].value === value; }
  }

  function setText(name, text) {
    var el = form.elements.namedItem(name);
    if (el && typeof el.value === "string" && !el.readOnly) { el.value = text || ""; }
  }

  function fill(data) {
    setText("interviewer", data.interviewer);
    setText("interviewed_on", data.interviewed_on);
    setText("notes", data.notes);
    var blocks = form.querySelectorAll("fieldset.criterion");
    for (var i = 0; i < blocks.length; i++) {
      var n = i + 1, id = blocks[i].getAttribute("data-criterion");
      var rating = data.ratings ? data.ratings[id] : undefined;
      setRadio("rating-" + n, rating === null ? "na" : rating === undefined ? "" : String(rating));
      setText("evidence-" + n, data.evidence ? data.evidence[id] : "");
    }
    var flags = data.red_flags || [];
    var boxes = form.querySelectorAll('input[type="checkbox"][data-flag]');
    for (var j = 0; j < boxes.length; j++) {
      boxes[j].checked = flags.indexOf(boxes[j].getAttribute("data-flag")) >= 0;
    }
    setRadio("recommendation", data.recommendation || "");
  }

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
