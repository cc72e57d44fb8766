// Enrolling many pictures: send them one by one to the enrol endpoint, with a progress bar and
// a line per file saying whether it was enrolled. Without this script the form posts them all.
(function () {
  "use strict";
  var form = document.querySelector("form[data-enrol]");
  if (!form) return;
  var input = form.querySelector('input[type="file"][name="pictures"]');
  var button = form.querySelector("[data-enrol-submit]");
  var box = form.querySelector("[data-enrol-progress]");
  var bar = box.querySelector("progress");
  var summary = box.querySelector("[data-enrol-summary]");
  var list = box.querySelector("[data-enrol-results]");

  function line(name, ok, text) {
    var item = document.createElement("li");
    item.className = ok ? "ok" : "failed";
    var mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = ok ? "✓ " : "✗ ";
    var label = document.createElement("strong");
    label.textContent = name;
    item.appendChild(mark);
    item.appendChild(label);
    item.appendChild(document.createTextNode(": " + text));
    list.appendChild(item);
  }

  function sendOne(file) {
    var data = new FormData(form);
    data.delete("pictures");
    data.append("pictures", file);
    return fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin", headers: {"Accept": "application/json"}
    }).then(function (response) {
      // Success: {ok: true, message}; failure: the API's error shape {error: {code, message, fields}}.
      return response.json().then(function (body) {
        return response.ok ? body : {ok: false, error: (body.error && body.error.message) || "refused"};
      }).catch(function () {
        return {ok: false, error: "the server answered " + response.status};
      });
    }).catch(function () {
      return {ok: false, error: "the connection failed"};
    });
  }

  form.addEventListener("submit", function (event) {
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length || !window.fetch) return;  // the plain form reports the missing file
    event.preventDefault();
    button.disabled = true;
    box.hidden = false;
    list.innerHTML = "";
    bar.max = files.length;
    bar.value = 0;
    var done = 0, enrolled = 0;
    summary.textContent = "Enrolling " + files.length + " picture" + (files.length === 1 ? "" : "s") + "…";
    files.reduce(function (chain, file) {
      return chain.then(function () {
        return sendOne(file).then(function (answer) {
          done += 1;
          if (answer.ok) enrolled += 1;
          bar.value = done;
          line(file.name, answer.ok, answer.ok ? answer.message : answer.error);
          summary.textContent = done + " of " + files.length + " done";
        });
      });
    }, Promise.resolve()).then(function () {
      summary.textContent = "Finished: " + enrolled + " of " + files.length + " enrolled" +
        (enrolled < files.length ? ", " + (files.length - enrolled) + " failed (see below)." : ".");
      button.disabled = false;
      input.value = "";
      if (enrolled && window.htmx) document.body.dispatchEvent(new CustomEvent("enrolled"));
      else if (enrolled) window.location.reload();
    });
  });
})();
