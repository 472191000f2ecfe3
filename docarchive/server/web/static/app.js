// Choosing in a <select data-autosubmit> sends its form (a button does it without script).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
});
