// passkey.js: the browser side of the hub's passkeys (WebAuthn), without
// inline script (the CSP forbids it) and without a library.
//
// An element with data-passkey="create" (a form with a "name" field) adds a
// passkey; one with data-passkey="get" (a button) signs in with one. Both name
// the server's begin and finish URLs in data-begin and data-finish. The server
// answers in the API's JSON envelope ({success, data, message}); the options
// and the credential cross as JSON with binary fields in base64url.
(function () {
  "use strict";

  function toBytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: toBytes(c.id) });
    });
  }

  // credentialJSON is the credential as the server parses it.
  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64url(r.userHandle);
      }
    }
    return out;
  }

  // go follows the server's redirect; to the same page (with another
  // #fragment) it reloads, to show what changed.
  function go(url) {
    var to = new URL(url, window.location.href);
    if (to.pathname === window.location.pathname && to.search === window.location.search) {
      window.location.hash = to.hash;
      window.location.reload();
      return;
    }
    window.location.assign(to.href);
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = new Error((data && data.message) || "The hub answered " + res.status + ".");
          err.redirect = data && data.data && data.data.redirect;
          throw err;
        }
        return data;
      });
    });
  }

  function errorBox(el) {
    var box = el.nextElementSibling;
    while (box && !box.hasAttribute("data-passkey-error")) {
      box = box.nextElementSibling;
    }
    if (!box && el.parentElement) {
      return errorBox(el.parentElement);
    }
    return box;
  }

  function showError(el, msg) {
    var box = errorBox(el);
    if (box) {
      box.textContent = msg;
      box.hidden = false;
    }
  }

  // A cancelled or timed-out prompt is the person's choice, told plainly.
  function message(err) {
    if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) {
      return "The passkey prompt was closed or timed out. Try again.";
    }
    if (err && err.name === "InvalidStateError") {
      return "This device already holds a passkey for your account.";
    }
    return (err && err.message) || "The passkey did not work.";
  }

  function showCodes(codes) {
    var box = document.querySelector("[data-passkey-codes]");
    if (!box) {
      return false;
    }
    var list = box.querySelector("ol");
    codes.forEach(function (c) {
      var li = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = c;
      li.appendChild(code);
      list.appendChild(li);
    });
    box.hidden = false;
    return true;
  }

  function create(form) {
    var name = form.querySelector('[name="name"]').value;
    return post(form.getAttribute("data-begin")).then(function (options) {
      var pk = options.publicKey;
      pk.challenge = toBytes(pk.challenge);
      pk.user.id = toBytes(pk.user.id);
      pk.excludeCredentials = descriptors(pk.excludeCredentials);
      return navigator.credentials.create({ publicKey: pk });
    }).then(function (cred) {
      return post(form.getAttribute("data-finish") + "?name=" + encodeURIComponent(name), credentialJSON(cred));
    }).then(function (res) {
      var codes = res.data && res.data.recovery_codes;
      if (codes && codes.length && showCodes(codes)) {
        form.hidden = true;
        return;
      }
      go(res.data.redirect);
    });
  }

  function get(button) {
    return post(button.getAttribute("data-begin")).then(function (options) {
      var pk = options.publicKey;
      pk.challenge = toBytes(pk.challenge);
      pk.allowCredentials = descriptors(pk.allowCredentials);
      return navigator.credentials.get({ publicKey: pk });
    }).then(function (cred) {
      return post(button.getAttribute("data-finish"), credentialJSON(cred));
    }).then(function (res) {
      go(res.data.redirect);
    });
  }

  function run(el, ceremony) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      showError(el, "This browser does not support passkeys.");
      return;
    }
    var box = errorBox(el);
    if (box) {
      box.hidden = true;
    }
    el.setAttribute("aria-busy", "true");
    ceremony(el).catch(function (err) {
      if (err && err.redirect) {
        go(err.redirect);
        return;
      }
      showError(el, message(err));
    }).then(function () {
      el.removeAttribute("aria-busy");
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target instanceof Element ? ev.target.closest('form[data-passkey="create"]') : null;
    if (form) {
      ev.preventDefault();
      run(form, create);
    }
  });
  document.addEventListener("click", function (ev) {
    var btn = ev.target instanceof Element ? ev.target.closest('button[data-passkey="get"]') : null;
    if (btn) {
      ev.preventDefault();
      run(btn, get);
    }
  });
})();
