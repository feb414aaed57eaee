(function () {
  "use strict";
  var form = document.getElementById("scorecard");
  var statusLine = document.getElementById("status");
  var dirty = false;
  // The rule rubrics checks on submit (a little stricter: no control characters).
  var EMAIL = /^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+$/;

  {% include "scorecard-collect.js" %}

  function slug(text) {
    return text.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "interviewer";
  }

  function report(message, isError, focusName) {
    statusLine.textContent = message;
    statusLine.className = isError ? "error" : "";
    if (focusName) {
      var el = form.querySelector('[name="' + focusName + '"]');
      if (el) { el.focus(); }
    }
  }

  // A draft is kept in this browser as the interviewer types, so closing the tab loses
  // nothing; it is keyed by pack and stage, so two candidates' scorecards never mix.
  var DRAFT = "rubrics-draft:" + form.getAttribute("data-pack-id") + ":" +
    form.getAttribute("data-stage");

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }  // blocked by the browser
  }

  function keepDraft() {
    var store = storage();
    if (!store) { return; }
    try {
      store.setItem(DRAFT, JSON.stringify({ saved_at: new Date().toISOString(), data: collect() }));
    } catch (e) { /* full or blocked: the form still works, without a draft */ }
  }

  {% include "scorecard-fill.js" %}

  function restoreDraft() {
    var store = storage(), raw = store && store.getItem(DRAFT);
    if (!raw) { return; }
    try {
      var draft = JSON.parse(raw);
      fill(draft.data);
      report("Restored your draft of " + new Date(draft.saved_at).toLocaleString() +
             ". It stays in this browser until you clear the form.", false, null);
    } catch (e) { store.removeItem(DRAFT); }
  }

  form.addEventListener("input", function () { dirty = true; keepDraft(); });
  form.addEventListener("change", function () { dirty = true; keepDraft(); });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });

  document.getElementById("open").addEventListener("change", function (event) {
    var file = event.target.files && event.target.files[0];
    event.target.value = "";
    if (!file) { return; }
    file.text().then(function (text) {
      var data;
      try { data = JSON.parse(text); } catch (e) {
        report(file.name + " is not a submission file saved from a scorecard (JSON).", true, null);
        return;
      }
      if (!data || data.format !== "rubrics-submission/1" ||
          data.pack_id !== form.getAttribute("data-pack-id") ||
          data.stage !== form.getAttribute("data-stage")) {
        report(file.name + " was saved from another candidate's or stage's scorecard; " +
               "open it from that scorecard.", true, null);
        return;
      }
      fill(data);
      dirty = true;
      keepDraft();
      report("Opened " + file.name + ": change what you need, then save it again.", false, null);
    });
  });

  document.getElementById("clear").addEventListener("click", function () {
    if (!window.confirm("Clear every answer on this scorecard and its draft in this browser?")) {
      return;
    }
    form.reset();
    var store = storage();
    if (store) { store.removeItem(DRAFT); }
    dirty = false;
    report("Cleared.", false, "interviewer");
  });

  restoreDraft();

  {% include "scorecard-bar.js" %}

  document.getElementById("save").addEventListener("click", function () {
    var submission = collect();
    if (!submission.interviewer) {
      report("Please enter your name as the interviewer before saving.", true, "interviewer");
      return;
    }
    var email = submission.interviewer_email;
    if (email && (email.length > 254 || !EMAIL.test(email))) {
      report("Please enter your email as name@example.com (or leave it empty) before saving.",
             true, "interviewer_email");
      return;
    }
    if (!submission.recommendation) {
      report("Please choose an overall recommendation before saving.", true, "recommendation");
      return;
    }
    var name = submission.stage + "--" + slug(submission.interviewer) + ".json";
    var blob = new Blob([JSON.stringify(submission, null, 2) + "\n"], { type: "application/json" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    dirty = false;
    report("Saved " + name + ". Send this file to your recruiter.", false, null);
  });
})();
