(function () {
  "use strict";
  var form = document.getElementById("scorecard");
  var statusLine = document.getElementById("status");
  var dirty = false;
  // The rule rubrics checks on submit (a little stricter: no control characters).
  var EMAIL = /^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+$/;

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
      interviewer_email: value("interviewer_email") || undefined,  // left out of the file when blank
      interviewed_on: value("interviewed_on") || null,
      ratings: ratings,
      evidence: evidence,
      red_flags: flags,
      notes: value("notes"),
      recommendation: checked("recommendation")
    };
  }

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

  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });

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
