// Mailgrip's sign-in dialog: the OAuth 2.0 authorization code flow with PKCE (RFC 7636), run
// in a window that Outlook opened with Office.context.ui.displayDialogAsync. The first visit
// redirects to the identity platform. The second visit has the code in the fragment, redeems
// it and passes the access token to the task pane with messageParent.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("dialog-config").textContent);
  const S = config.strings;
  // The verifier and state live in sessionStorage for the round trip to the identity platform
  // and back, which keeps them in this window only.
  const FLOW_KEY = "mailgrip.signin.flow";
  const status = document.getElementById("dialog-status");

  function base64Url(bytes) {
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString(byteCount) {
    return base64Url(crypto.getRandomValues(new Uint8Array(byteCount)));
  }

  function sendToPane(message) {
    Office.context.ui.messageParent(JSON.stringify(message));
  }

  function fail(text) {
    status.textContent = text;
    sendToPane({ status: "error", message: text });
  }

  async function redirectToSignIn() {
    status.textContent = S.redirecting;
    // 32 random bytes give a 43-character verifier, the shortest that RFC 7636 allows.
    const verifier = randomString(32);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    const state = randomString(16);
    sessionStorage.setItem(FLOW_KEY, JSON.stringify({ verifier, state }));
    const url = new URL(`${config.authority}/oauth2/v2.0/authorize`);
    url.search = new URLSearchParams({
      client_id: config.clientId,
      response_type: "code",
      redirect_uri: config.redirectUri,
      // The fragment keeps the code out of server logs and Referer headers.
      response_mode: "fragment",
      scope: config.scopes.join(" "),
      state,
      code_challenge: base64Url(new Uint8Array(digest)),
      code_challenge_method: "S256",
    }).toString();
    window.location.assign(url.toString());
  }

  async function redeemCode(answer) {
    status.textContent = S.finishing;
    let flow = null;
    try {
      flow = JSON.parse(sessionStorage.getItem(FLOW_KEY) || "null");
    } catch {
      flow = null;
    }
    sessionStorage.removeItem(FLOW_KEY);
    // Office.js removes history.replaceState, so the fragment is dropped by assigning the hash.
    window.location.hash = "";
    if (!flow || answer.get("state") !== flow.state) {
      fail(S.stateMismatch);
      return;
    }
    if (answer.has("error")) {
      fail(S.failed.replace("{message}", answer.get("error_description") || answer.get("error")));
      return;
    }

    let response;
    try {
      response = await fetch(`${config.authority}/oauth2/v2.0/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          client_id: config.clientId,
          grant_type: "authorization_code",
          code: answer.get("code"),
          redirect_uri: config.redirectUri,
          code_verifier: flow.verifier,
          scope: config.scopes.join(" "),
        }),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      fail(S.unreachable);
      return;
    }
    const payload = await response.json().catch(() => null);
    if (!response.ok || !payload || typeof payload.access_token !== "string") {
      const reason = (payload && (payload.error_description || payload.error)) || `HTTP ${response.status}`;
      fail(S.failed.replace("{message}", reason));
      return;
    }
    sendToPane({ status: "success", accessToken: payload.access_token, expiresIn: payload.expires_in });
  }

  Office.onReady(() => {
    const answer = new URLSearchParams(window.location.hash.slice(1));
    if (answer.has("code") || answer.has("error")) redeemCode(answer);
    else redirectToSignIn().catch((error) => fail(S.failed.replace("{message}", String(error))));
  });
})();
