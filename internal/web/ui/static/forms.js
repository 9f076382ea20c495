// Forms: a new password's length is checked as it is typed, against the minlength the server
// rendered from its own rule, before anyone types it a second time.
(function () {
  "use strict";
  document.querySelectorAll("input[data-new-password][minlength]").forEach(function (field) {
    var min = parseInt(field.getAttribute("minlength"), 10);
    var hint = document.getElementById(field.getAttribute("aria-describedby"));
    var check = function () {
      var n = Array.from(field.value).length;
      var short = n > 0 && n < min;
      var msg = short ? "Too short: at least " + min + " characters, " + (min - n) + " more." : (n >= min ? "Long enough." : "");
      field.setCustomValidity(short ? msg : "");
      field.setAttribute("aria-invalid", short ? "true" : "false");
      if (hint) { hint.textContent = msg; hint.className = "field-hint" + (short ? " error" : " calm"); }
    };
    field.addEventListener("input", check);
    field.addEventListener("blur", check);
  });
})();
// A monitor's form shows the fields of the type chosen only; without JavaScript it shows every
// type's, each under its legend, and the server reads those of the type chosen.
(function () {
  "use strict";
  document.querySelectorAll("select[data-monitor-type]").forEach(function (select) {
    var form = select.form;
    var show = function () {
      form.querySelectorAll("fieldset.monitor-type").forEach(function (set) {
        set.hidden = set.getAttribute("data-types").split(" ").indexOf(select.value) < 0;
      });
    };
    select.addEventListener("change", show);
    show();
  });
})();
