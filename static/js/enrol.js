// Enrolling many pictures: send them one by one to the enrol endpoint, with a progress bar and
// a line per file saying whether it was enrolled. Without this script the form posts them all.
(function () {
  "use strict";
  // Django's JavaScript catalogue (/i18n/js/, loaded first by base.html) translates; without it, English.
  var gettext = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (one, many, count) { return count === 1 ? one : many; };
  var interpolate = window.interpolate || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  };
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
        return response.ok ? body : {ok: false, error: (body.error && body.error.message) || gettext("refused")};
      }).catch(function () {
        return {ok: false, error: interpolate(gettext("the server answered %(status)s"), {status: response.status}, true)};
      });
    }).catch(function () {
      return {ok: false, error: gettext("the connection failed")};
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
    summary.textContent = interpolate(ngettext("Enrolling %(count)s picture…", "Enrolling %(count)s pictures…", files.length),
                                      {count: files.length}, true);
    files.reduce(function (chain, file) {
      return chain.then(function () {
        return sendOne(file).then(function (answer) {
          done += 1;
          if (answer.ok) enrolled += 1;
          bar.value = done;
          line(file.name, answer.ok, answer.ok ? answer.message : answer.error);
          summary.textContent = interpolate(gettext("%(done)s of %(count)s done"), {done: done, count: files.length}, true);
        });
      });
    }, Promise.resolve()).then(function () {
      var names = {enrolled: enrolled, count: files.length, failed: files.length - enrolled};
      summary.textContent = enrolled < files.length
        ? interpolate(gettext("Finished: %(enrolled)s of %(count)s enrolled, %(failed)s failed (see below)."), names, true)
        : interpolate(gettext("Finished: %(enrolled)s of %(count)s enrolled."), names, true);
      button.disabled = false;
      input.value = "";
      if (enrolled && window.htmx) document.body.dispatchEvent(new CustomEvent("enrolled"));
      else if (enrolled) window.location.reload();
    });
  });
})();
