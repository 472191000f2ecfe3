// Upload with a progress bar: the same form, sent by XMLHttpRequest so the browser shows
// how much has gone; the server answers with the page of the result, shown in place.
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var bar = document.getElementById("progress");
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.hidden = false; bar.value = Math.round(100 * e.loaded / e.total); }
    });
    request.addEventListener("load", function () {
      document.open(); document.write(request.responseText); document.close();
    });
    request.send(new FormData(form));
  });
})();
