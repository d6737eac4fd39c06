/* The checklist under a new-password field: ticks each rule of the password policy as the
   person types, with the server's own rules (accounts/validators.py and
   accounts/common_passwords.py, step by step the same) and its word list. The history rule
   cannot be checked here: it is marked "checked when sent". The strength meter follows the
   checklist, so it never says 強 while a rule is broken. Without this file the page shows
   the same rules as a plain list, and the server checks them all on submit. */
(function () {
  "use strict";

  var MAX_LENGTH = 128;
  var RUN_LENGTH = 4;
  var SEQUENCES = ["abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl",
    "zxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "!@#$%^&*()"];
  var MIN_UNEXPLAINED = 4;
  var MIN_AROUND_A_WORD = 6;
  var MIN_WORD = 3;
  var MIN_PERSONAL = 3;
  var MIN_PERSONAL_CJK = 2;
  var MIN_WALK = 4;
  var LEET = { "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a",
    "$": "s", "+": "t" };
  var LEET_I_OR_L = "1!|";
  var MEANINGFUL_NUMBERS = ["520", "521", "1314", "5201314", "168", "888", "666", "999", "777",
    "007"];
  var KEYBOARD_ROWS = ["`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./"];
  var KEYBOARD_SHIFTED = ["~!@#$%^&*()_+", "QWERTYUIOP{}|", "ASDFGHJKL:\"", "ZXCVBNM<>?"];
  var DATE_WITH_SEPARATORS = /\d{2,4}[-/._]\d{1,2}[-/._]\d{1,4}|\d{1,2}[-/._]\d{1,2}/g;

  var KEYBOARD = {};
  [KEYBOARD_ROWS, KEYBOARD_SHIFTED].forEach(function (rows) {
    rows.forEach(function (keys, row) {
      Array.from(keys).forEach(function (key, column) { KEYBOARD[key] = [row, column]; });
    });
  });

  function chars(text) { return Array.from(text); }  // code points, as Python counts them
  function normalize(text) { return (text || "").normalize("NFKC"); }
  function isLetter(c) { return /^[A-Za-z]$/.test(c); }
  function isLeet(c) { return LEET.hasOwnProperty(c) || LEET_I_OR_L.indexOf(c) >= 0; }
  function isAlnum(c) { return /^[\p{L}\p{N}]$/u.test(c); }
  function isAscii(text) { return /^[\x00-\x7f]*$/.test(text); }

  function characterClasses(password) {
    var list = chars(password);
    var found = [
      list.some(function (c) { return /^\p{Nd}$/u.test(c); }),
      list.some(function (c) { return /^\p{Lowercase}$/u.test(c); }),
      list.some(function (c) { return /^\p{Uppercase}$/u.test(c); }),
      list.some(function (c) { return !isAlnum(c); })
    ];
    return found.filter(Boolean).length;
  }

  function reverse(text) { return chars(text).reverse().join(""); }

  function findRun(password) {
    var lowered = chars(password.toLowerCase());
    for (var start = 0; start + RUN_LENGTH <= lowered.length; start++) {
      var chunk = lowered.slice(start, start + RUN_LENGTH).join("");
      for (var i = 0; i < SEQUENCES.length; i++) {
        if (SEQUENCES[i].indexOf(chunk) >= 0 || reverse(SEQUENCES[i]).indexOf(chunk) >= 0) {
          return true;
        }
      }
    }
    return false;
  }

  function adjacent(a, b) {
    if (!KEYBOARD.hasOwnProperty(a) || !KEYBOARD.hasOwnProperty(b)) return false;
    var ra = KEYBOARD[a][0], ca = KEYBOARD[a][1], rb = KEYBOARD[b][0], cb = KEYBOARD[b][1];
    if (ra === rb) return Math.abs(ca - cb) === 1;
    if (rb === ra + 1) return cb === ca - 1 || cb === ca;
    if (rb === ra - 1) return cb === ca || cb === ca + 1;
    return false;
  }

  function wordRuns(list) {
    var runs = [], start = null, n = list.length;
    for (var i = 0; i <= n; i++) {
      var c = i < n ? list[i] : " ";
      if (i < n && (isLetter(c) || (isLeet(c) && start !== null))) {
        if (start === null) start = i;
        continue;
      }
      if (start !== null) {
        var end = i;
        while (!isLetter(list[end - 1])) end -= 1;
        runs.push([start, end]);
        start = null;
      }
    }
    return runs;
  }

  function readings(chunk) {
    var lowered = chars(chunk.toLowerCase());
    return ["i", "l"].map(function (iOrL) {
      return lowered.map(function (c) {
        if (LEET.hasOwnProperty(c)) return LEET[c];
        return LEET_I_OR_L.indexOf(c) >= 0 ? iOrL : c;
      }).join("");
    });
  }

  function isRepeat(text) {
    var list = chars(text);
    for (var size = 1; size <= Math.floor(list.length / 2); size++) {
      if (list.length % size !== 0) continue;
      var unit = list.slice(0, size).join("");
      if (new Array(list.length / size + 1).join(unit) === list.join("")) return true;
    }
    return false;
  }

  function isWord(chunk, words) {
    if (chars(chunk).length < MIN_WORD) return false;
    return readings(chunk).some(function (r) { return words.has(r); }) ||
      isRepeat(chunk.toLowerCase());
  }

  function isYear(d) { return d.length === 4 && +d >= 1900 && +d <= 2099; }
  function monthDay(d) {
    return d.length === 4 && +d.slice(0, 2) >= 1 && +d.slice(0, 2) <= 12 &&
      +d.slice(2) >= 1 && +d.slice(2) <= 31;
  }
  function dayMonth(d) {
    return d.length === 4 && +d.slice(2) >= 1 && +d.slice(2) <= 12 &&
      +d.slice(0, 2) >= 1 && +d.slice(0, 2) <= 31;
  }
  function isDate(d) {
    var n = d.length;
    if (n === 4) return isYear(d) || monthDay(d);
    if (n === 6) {
      return monthDay(d.slice(2)) || monthDay(d.slice(0, 4)) || dayMonth(d.slice(0, 4));
    }
    if (n === 7) return +d.slice(0, 3) >= 1 && +d.slice(0, 3) <= 150 && monthDay(d.slice(3));
    if (n === 8) {
      return (isYear(d.slice(0, 4)) && monthDay(d.slice(4))) ||
        (isYear(d.slice(4)) && (monthDay(d.slice(0, 4)) || dayMonth(d.slice(0, 4))));
    }
    return false;
  }
  function isCounted(d) {
    if (MEANINGFUL_NUMBERS.indexOf(d) >= 0) return true;
    if (d.length < 3) return false;
    var steps = {};
    for (var i = 1; i < d.length; i++) steps[+d[i] - +d[i - 1]] = true;
    var keys = Object.keys(steps);
    return keys.length === 1 && ["-1", "0", "1"].indexOf(keys[0]) >= 0;
  }

  // One UTF-16 unit per code point, so that regular expressions count as Python does.
  function flat(list) {
    return list.map(function (c) { return c.length > 1 ? "\uFFFD" : c; }).join("");
  }

  function spansOf(pattern, text, keep) {
    var spans = [], match;
    pattern.lastIndex = 0;
    while ((match = pattern.exec(text)) !== null) {
      if (!keep || keep(match[0])) spans.push([match.index, match.index + match[0].length]);
      if (match[0].length === 0) pattern.lastIndex += 1;
    }
    return spans;
  }

  function digitSpans(text) {
    return spansOf(DATE_WITH_SEPARATORS, text).concat(spansOf(/\d+/g, text, function (d) {
      return isDate(d) || isCounted(d);
    }));
  }

  function walkSpans(list) {
    var spans = [], start = 0;
    for (var i = 1; i <= list.length; i++) {
      if (i < list.length && adjacent(list[i - 1], list[i])) continue;
      if (i - start >= MIN_WALK) spans.push([start, i]);
      start = i;
    }
    return spans;
  }

  function personalWordsFound(password, personal) {
    var lowered = normalize(password).toLowerCase();
    return personal.some(function (word) {
      word = normalize(word).trim().toLowerCase();
      var minimum = isAscii(word) ? MIN_PERSONAL : MIN_PERSONAL_CJK;
      return chars(word).length >= minimum && lowered.indexOf(word) >= 0;
    });
  }

  function isCommonOrGuessable(password, personal, words) {
    password = normalize(password);
    var lowered = password.toLowerCase();
    if (words.has(lowered) || personalWordsFound(password, personal)) return true;
    if (isRepeat(lowered)) return true;
    var list = chars(password);
    var explained = list.map(function () { return false; });
    function explain(span) { for (var i = span[0]; i < span[1]; i++) explained[i] = true; }
    var found = {};
    wordRuns(list).forEach(function (run) {
      var chunk = list.slice(run[0], run[1]).join("");
      if (isWord(chunk, words)) {
        found[chunk.toLowerCase()] = true;
        explain(run);
      }
    });
    var count = Object.keys(found).length;
    if (count > 1) return false;
    var text = flat(list);
    digitSpans(text).concat(walkSpans(list), spansOf(/(.)\1{2,}/g, text)).forEach(explain);
    var glue = [];
    list.forEach(function (c, i) {
      if (!explained[i] && !isAlnum(c) && (i === 0 || explained[i - 1]) &&
          (i === list.length - 1 || explained[i + 1])) glue.push(i);
    });
    glue.forEach(function (i) { explained[i] = true; });
    var left = list.filter(function (c, i) { return !explained[i]; });
    if (count && !left.some(isLetter)) return left.length < MIN_AROUND_A_WORD;
    return left.length < MIN_UNEXPLAINED;
  }

  /* Each rule's verdict: true (met), false (broken), null (cannot tell here). */
  function check(password, context) {
    var typed = normalize(password);
    var length = chars(typed).length;
    var lowered = typed.toLowerCase();
    return {
      length: length >= context.minLength && length <= MAX_LENGTH,
      classes: characterClasses(typed) >= 3,
      history: null,
      "login-name": !context.loginNames.some(function (name) {
        return name && lowered.indexOf(name.toLowerCase()) >= 0;
      }),
      sequence: !findRun(typed),
      common: context.words ? !isCommonOrGuessable(typed, context.personal, context.words) : null
    };
  }

  var wordsLoading = {};

  function loadWords(src) {
    if (!wordsLoading[src]) {
      wordsLoading[src] = fetch(src, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("word list " + response.status);
          return response.text();
        })
        .then(function (text) {
          var start = text.indexOf("\n\n");
          return new Set(text.slice(start + 2).split("\n").filter(Boolean));
        });
    }
    return wordsLoading[src];
  }

  function values(selector) {
    return Array.prototype.map.call(document.querySelectorAll(selector), function (el) {
      return el.getAttribute(selector.slice(1, -1));
    });
  }

  function setUpChecklist(list) {
    var input = document.getElementById(list.getAttribute("data-password-rules-for"));
    if (!input) return;
    var meter = document.querySelector('[data-strength-for="' + input.id + '"]');
    var summary = list.querySelector("[data-rules-summary]");
    var context = {
      minLength: parseInt(list.getAttribute("data-min-length"), 10),
      loginNames: values("[data-login-name]"),
      personal: values("[data-user-word]"),
      words: null
    };
    list.classList.add("checklist--live");
    var describedBy = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (describedBy.indexOf(list.id) < 0) describedBy.push(list.id);
    input.setAttribute("aria-describedby", describedBy.join(" "));

    function update() {
      var value = input.value;
      var verdicts = check(value, context);
      var broken = 0, unknown = 0;
      Array.prototype.forEach.call(list.querySelectorAll("[data-rule]"), function (item) {
        var verdict = verdicts[item.getAttribute("data-rule")];
        var state = !value ? "empty" : verdict === null ? "later" : verdict ? "met" : "broken";
        if (item.getAttribute("data-rule") === "common" && value && !context.words) state = "empty";
        item.setAttribute("data-state", state);
        var said = item.querySelector(".checklist__state");
        if (said) said.textContent = item.getAttribute("data-said-" + state) || "";
        if (state === "broken") broken += 1;
        if (state === "empty" || state === "later") unknown += 1;
        var advice = item.querySelector("[data-rule-advice]");
        if (advice) advice.hidden = state !== "broken";
      });
      if (summary) {
        summary.textContent = !value ? "" : broken
          ? summary.getAttribute("data-broken").replace("%(count)s", broken)
          : summary.getAttribute("data-met");
      }
      if (meter) updateMeter(meter, value, broken, verdicts, context);
    }
    input.addEventListener("input", update);
    loadWords(list.getAttribute("data-words-src")).then(function (words) {
      context.words = words;
      update();
    }, function () { /* the server still checks on submit */ });
    update();
  }

  // 弱 while a rule is broken; 中 once every rule the browser can check is met; 強 when
  // the password is also long (4 more than the minimum, and 4 kinds or 16 characters).
  function updateMeter(meter, value, broken, verdicts, context) {
    var text = meter.querySelector(".strength__text");
    var length = chars(normalize(value)).length;
    var level = 0;
    if (value && broken) level = 1;
    else if (value && verdicts.common !== null) {
      var kinds = characterClasses(normalize(value));
      level = length >= context.minLength + 4 && (kinds === 4 || length >= 16) ? 3 : 2;
    }
    meter.setAttribute("data-level", String(level));
    text.textContent = level === 0 ? "—" :
      text.getAttribute(["", "data-weak", "data-medium", "data-strong"][level]);
  }

  window.PortalPasswordRules = { check: check, loadWords: loadWords };

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  onReady(function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-password-rules-for]"), setUpChecklist);
  });
})();
