  function setRadio(name, value) {
    var radios = form.querySelectorAll('input[name="' + name + '"]');
    for (var i = 0; i < radios.length; i++) { radios[i].checked = radios[i].value === value; }
  }

  function setText(name, text) {
    var el = form.elements.namedItem(name);
    if (el && typeof el.value === "string"{% if served is defined %} && !el.readOnly{% endif %}) { el.value = text || ""; }
  }

  // Fill the form from a submission (a draft, or a saved file reopened to amend it).
  function fill(data) {
    setText("interviewer", data.interviewer);
    setText("interviewer_email", data.interviewer_email);
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
