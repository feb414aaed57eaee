  // The Save bar sticks to the bottom of the window: a control focused behind it is
  // scrolled into sight (scroll-padding covers most cases, not a control already inside
  // the window when it takes focus).
  var bar = document.querySelector(".actions");
  form.addEventListener("focusin", function (event) {
    if (!bar || bar.contains(event.target)) { return; }
    var hidden = event.target.getBoundingClientRect().bottom - bar.getBoundingClientRect().top;
    if (hidden > -8) { window.scrollBy(0, hidden + 16); }
  });
