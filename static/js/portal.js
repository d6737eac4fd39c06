/* Small progressive enhancements; every form works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // "語音播放驗證碼": one button plays the digits on the page (from the start each time)
  // in place of the player's own controls, which show only without this file.
  function setUpCaptchaAudio(box) {
    var audio = box.querySelector("[data-captcha-audio]");
    var play = box.querySelector("[data-captcha-play]");
    if (!audio || !play) return;
    audio.controls = false;
    audio.hidden = true;
    play.hidden = false;
    play.addEventListener("click", function () {
      audio.currentTime = 0;
      var playing = audio.play();
      if (playing && playing.catch) playing.catch(function () {});
    });
  }

  // "更換驗證碼": ask simple-captcha for a new challenge without reloading the form.
  function setUpCaptcha(box) {
    setUpCaptchaAudio(box);
    var button = box.querySelector("[data-captcha-refresh]");
    if (!button) return;
    button.addEventListener("click", function () {
      var request = new XMLHttpRequest();
      request.open("GET", button.getAttribute("data-captcha-refresh"));
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      request.onload = function () {
        if (request.status !== 200) return;
        var data = JSON.parse(request.responseText);
        box.querySelector("input[type=hidden]").value = data.key;
        box.querySelector("[data-captcha-image]").src = data.image_url;
        var audio = box.querySelector("[data-captcha-audio]");
        if (audio) {
          audio.pause();
          audio.src = audio.getAttribute("src").replace(/[^/]+\.wav$/, data.key + ".wav");
        }
        var text = box.querySelector("input[type=text]");
        text.value = "";
        text.focus();
      };
      request.send();
    });
  }

  // "顯示密碼"
  function setUpShowPassword(box) {
    var input = document.getElementById(box.getAttribute("data-show-password"));
    if (!input) return;
    box.addEventListener("change", function () { input.type = box.checked ? "text" : "password"; });
  }

  // 弱 / 中 / 強: zxcvbn (the same scorer the server uses) loaded only on password pages.
  function setUpStrengthMeter(meter) {
    var input = document.getElementById(meter.getAttribute("data-strength-for"));
    var text = meter.querySelector(".strength__text");
    if (!input) return;
    var script = document.createElement("script");
    script.src = meter.getAttribute("data-zxcvbn-src");
    script.async = true;
    document.head.appendChild(script);
    function words() {
      return Array.prototype.map.call(document.querySelectorAll("[data-user-word]"), function (el) {
        return el.getAttribute("data-user-word");
      });
    }
    function update() {
      var value = input.value;
      var level = 0;
      if (value && window.zxcvbn) {
        var score = window.zxcvbn(value.slice(0, 128), words()).score;
        level = score >= 4 && value.length >= 12 ? 3 : score >= 3 ? 2 : 1;
      } else if (value) {
        level = 1;
      }
      meter.setAttribute("data-level", String(level));
      text.textContent = level === 0 ? "—" : text.getAttribute(["", "data-weak", "data-medium", "data-strong"][level]);
    }
    input.addEventListener("input", update);
    script.addEventListener("load", update);
  }

  function focusErrors() {
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) summary.focus();
  }

  // A result that arrives with a new page (the holder lookup): its status region is drawn
  // empty and filled a moment after the page is shown, so screen readers announce it.
  function announce(region) {
    window.setTimeout(function () { region.textContent = region.getAttribute("data-announce"); }, 300);
  }

  // Ask before an action that locks a person out (停用帳號).
  function setUpConfirm(button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  }

  // "[複製連結]": copy an announcement's permanent link; without JS the link stays selectable.
  function setUpCopyLink(button) {
    var status = button.parentNode.querySelector(".copy-link__status");
    var source = button.parentNode.querySelector("[data-copy-source]");
    var link = button.getAttribute("data-copy-link");
    function say(attribute) { if (status) status.textContent = button.getAttribute(attribute); }
    function copyBySelection() {
      if (!source) return say("data-copy-failed");
      source.focus();
      source.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      say(copied ? "data-copied" : "data-copy-failed");
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(link).then(function () { say("data-copied"); }, copyBySelection);
      } else {
        copyBySelection();
      }
    });
  }

  // "全選": check every box of a form's rows on this page (boxes name their form).
  function setUpSelectAll(box) {
    var form = box.getAttribute("data-select-all");
    box.addEventListener("change", function () {
      var boxes = document.querySelectorAll("input[type=checkbox][name=accounts][form='" + form + "']");
      Array.prototype.forEach.call(boxes, function (each) { each.checked = box.checked; });
    });
  }

  // The login name's prefix follows the unit code typed above it (申請子帳號).
  function setUpPrefix(prefix) {
    var input = document.getElementById(prefix.getAttribute("data-prefix-of"));
    var code = input && input.form ? input.form.querySelector("[name=code]") : null;
    if (!code) return;
    var placeholder = prefix.textContent;
    function update() {
      var value = code.value.trim().toLowerCase();
      prefix.textContent = /^[0-9a-z]{3,10}$/.test(value) ? value + "_" : placeholder;
    }
    code.addEventListener("input", update);
  }

  // A CSV import running in the background: rows done / total, asked every second; the
  // page is loaded again (its result) once the import is done. Without JS the page
  // refreshes itself (a <noscript> refresh) and a plain reload works too.
  function setUpImportProgress(box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-progress-text]");
    var url = box.getAttribute("data-progress-url");
    function ask() {
      var request = new XMLHttpRequest();
      request.open("GET", url);
      request.setRequestHeader("Accept", "application/json");
      request.onload = function () {
        if (request.status !== 200) return window.setTimeout(ask, 3000);
        var data = JSON.parse(request.responseText);
        bar.max = Math.max(data.total, 1);
        bar.value = data.done;
        text.textContent = data.text;
        if (data.finished) window.location.reload();
        else window.setTimeout(ask, 1000);
      };
      request.onerror = function () { window.setTimeout(ask, 3000); };
      request.send();
    }
    window.setTimeout(ask, 1000);
  }

  onReady(function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-select-all]"), setUpSelectAll);
    Array.prototype.forEach.call(document.querySelectorAll("[data-prefix-of]"), setUpPrefix);
    Array.prototype.forEach.call(document.querySelectorAll("[data-progress-url]"), setUpImportProgress);
    Array.prototype.forEach.call(document.querySelectorAll("[data-captcha]"), setUpCaptcha);
    Array.prototype.forEach.call(document.querySelectorAll("[data-show-password]"), setUpShowPassword);
    Array.prototype.forEach.call(document.querySelectorAll("[data-strength-for]"), setUpStrengthMeter);
    Array.prototype.forEach.call(document.querySelectorAll("[data-confirm]"), setUpConfirm);
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy-link]"), setUpCopyLink);
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-announce]"), announce);
    focusErrors();
  });
})();
