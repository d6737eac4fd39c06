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
  // After its time the picture no longer counts: say so before the person sends the form.
  function setUpCaptcha(box) {
    setUpCaptchaAudio(box);
    var button = box.querySelector("[data-captcha-refresh]");
    if (!button) return;
    var expired = box.querySelector("[data-captcha-expired]");
    var timeout = parseInt(box.getAttribute("data-captcha-timeout"), 10);
    var timer = null;
    function startClock() {
      if (!expired || !timeout) return;
      expired.textContent = "";
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        expired.textContent = expired.getAttribute("data-text");
      }, timeout * 1000);
    }
    startClock();
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
        startClock();
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

  // A login name without the school code in front: said as soon as the box is left (decided
  // from what was typed alone; the server says it again after a failed sign-in).
  function setUpPrefixHint(hint) {
    var input = document.getElementById(hint.getAttribute("data-prefix-hint-for"));
    if (!input) return;
    function check() {
      var typed = input.value.normalize("NFKC").trim();
      hint.hidden = !typed || typed.indexOf("_") >= 0;
    }
    input.addEventListener("blur", check);
    input.addEventListener("input", function () { if (!hint.hidden) check(); });
  }

  // Seed 002's 剩餘時間 beside a code: counts down from the seconds the server gave (not the
  // browser's clock); without JavaScript the page says until what time the code is good.
  function two(n) { return (n < 10 ? "0" : "") + n; }

  function setUpCountdown(box) {
    var left = parseInt(box.getAttribute("data-countdown"), 10);
    var clock = box.querySelector("[data-countdown-clock]");
    var shown = box.querySelector("[data-countdown-left]");
    var text = box.querySelector("[data-countdown-text]");
    if (!clock || !shown || !(left > 0)) return;
    var ends = Date.now() + left * 1000;
    clock.hidden = false;
    if (text) text.hidden = true;
    function tick() {
      var seconds = Math.max(0, Math.round((ends - Date.now()) / 1000));
      shown.textContent = two(Math.floor(seconds / 60)) + ":" + two(seconds % 60);
      if (seconds > 0) { window.setTimeout(tick, 1000); return; }
      box.textContent = box.getAttribute("data-countdown-done");
      box.classList.add("countdown--done");
    }
    tick();
  }

  // A button that may be pressed again only after a wait (重寄驗證信, at most once a minute).
  function setUpWait(button) {
    var left = parseInt(button.getAttribute("data-wait"), 10);
    if (!(left > 0)) return;
    var label = button.textContent;
    var note = button.parentNode.querySelector("[data-wait-note]");
    var ends = Date.now() + left * 1000;
    if (note) note.hidden = true;
    button.disabled = true;
    function tick() {
      var seconds = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
      if (seconds > 0) {
        button.textContent = button.getAttribute("data-wait-label").replace("%(seconds)s", seconds);
        window.setTimeout(tick, 1000);
        return;
      }
      button.textContent = label;
      button.disabled = false;
    }
    tick();
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
    Array.prototype.forEach.call(document.querySelectorAll("[data-confirm]"), setUpConfirm);
    Array.prototype.forEach.call(document.querySelectorAll("[data-prefix-hint-for]"), setUpPrefixHint);
    Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), setUpCountdown);
    Array.prototype.forEach.call(document.querySelectorAll("[data-wait]"), setUpWait);
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy-link]"), setUpCopyLink);
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-announce]"), announce);
    focusErrors();
  });
})();
