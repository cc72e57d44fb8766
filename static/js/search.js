// The search page: drag-and-drop, a preview of the probe with a box on every face found, and a
// choice of which face to search. Without this script the form still posts the picture and the
// largest face is searched.
(function () {
  "use strict";
  // Django's JavaScript catalogue (/i18n/js/, loaded first by base.html) translates; without it, English.
  var gettext = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (one, many, count) { return count === 1 ? one : many; };
  var interpolate = window.interpolate || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  };
  var form = document.getElementById("search-form");
  if (!form) return;
  var input = form.querySelector('input[type="file"][name="picture"]');
  var zone = form.querySelector("[data-dropzone]");
  var preview = form.querySelector("[data-preview]");
  var frame = form.querySelector("[data-preview-frame]");
  var img = form.querySelector("[data-preview-img]");
  var hint = form.querySelector("[data-preview-hint]");
  var status = document.getElementById("picture-status");
  var faceIndex = form.querySelector('input[name="face_index"]');
  var submit = form.querySelector("[data-submit]");
  var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  var objectUrl = null;
  var request = 0;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", !!isError);
  }

  function clearBoxes() {
    frame.querySelectorAll(".face-box").forEach(function (box) { box.remove(); });
  }

  function choose(index) {
    faceIndex.value = String(index);
    frame.querySelectorAll(".face-box").forEach(function (box) {
      var chosen = box.dataset.index === String(index);
      box.classList.toggle("chosen", chosen);
      box.setAttribute("aria-pressed", chosen ? "true" : "false");
    });
  }

  function drawBoxes(result) {
    clearBoxes();
    result.faces.forEach(function (face) {
      var box = document.createElement("button");
      box.type = "button";
      box.className = "face-box";
      box.dataset.index = face.index;
      box.style.left = (100 * face.x / result.width) + "%";
      box.style.top = (100 * face.y / result.height) + "%";
      box.style.width = (100 * face.w / result.width) + "%";
      box.style.height = (100 * face.h / result.height) + "%";
      box.setAttribute("aria-label", interpolate(face.index === 0 ? gettext("Face %(number)s (largest)") : gettext("Face %(number)s"),
                                                {number: face.index + 1}, true));
      box.innerHTML = '<span class="face-number" aria-hidden="true">' + (face.index + 1) + "</span>";
      box.addEventListener("click", function () {
        choose(face.index);
        say(interpolate(gettext("Face %(number)s of %(count)s will be searched."),
                        {number: face.index + 1, count: result.faces.length}, true));
      });
      frame.appendChild(box);
    });
    if (result.faces.length) choose(0);
    hint.hidden = result.faces.length < 2;
  }

  // The preview is decoded only once the server has accepted the picture: a huge one (refused in
  // a tenth of a second) would otherwise freeze the browser for seconds, and a bad one would
  // leave a broken-image strip.
  function previewShow() {
    img.src = objectUrl;
    preview.hidden = false;
  }

  function previewHide() {
    preview.hidden = true;
    img.removeAttribute("src");
  }

  function show(file) {
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(file);
    previewHide();
    clearBoxes();
    faceIndex.value = "";
    submit.disabled = true;
    say(gettext("Looking for faces…"));
    var mine = ++request;
    var data = new FormData();
    data.append("picture", file);
    fetch(form.dataset.detectUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (answer) {
      if (mine !== request) return;
      if (!answer.ok) {
        say((answer.body.error && answer.body.error.message) || gettext("This picture cannot be searched."), true);
        return;
      }
      previewShow();
      var count = answer.body.faces.length;
      drawBoxes(answer.body);
      say(count === 1 ? gettext("One face found; it will be searched.") :
          interpolate(gettext("%(count)s faces found. Face 1, the largest, is chosen; select another box to search that face instead."),
                      {count: count}, true));
      submit.disabled = false;
    }).catch(function () {
      if (mine !== request) return;
      // Detection is a convenience: the search itself still checks the picture.
      previewShow();
      say(gettext("Could not check the picture now; the largest face will be searched."));
      submit.disabled = false;
    });
  }

  input.addEventListener("change", function () {
    if (input.files && input.files[0]) show(input.files[0]);
  });
  // A file chosen before this script ran (a fast hand, or the browser restoring the form on Back).
  if (input.files && input.files[0]) show(input.files[0]);

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    var transfer = new DataTransfer();
    transfer.items.add(files[0]);
    input.files = transfer.files;
    show(files[0]);
  });

  form.addEventListener("submit", function () {
    submit.disabled = true;
    submit.textContent = gettext("Searching…");
  });
})();
