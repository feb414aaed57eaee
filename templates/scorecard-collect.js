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
