// Sign-in inside Outlook, best method first. Nested app authentication (msal-browser's
// nestable client) comes first where NestedAppAuth 1.1 is supported. Office single sign-on
// (Office.auth.getAccessToken, IdentityAPI 1.3) comes next, and Mailgrip's sign-in dialog
// last: it runs the authorization code flow with PKCE in a window of the Office dialog API.
// Errors are logged with their codes only, and tokens are never logged.
"use strict";

window.mailgripSignin = (() => {
  const config = JSON.parse(document.getElementById("taskpane-config").textContent);
  const S = config.strings;
  const auth = config.auth;
  const RETRY_PAUSE_MS = 1500;
  // Office dialog API: 12006 is the event that the user closed the dialog.
  const DIALOG_CLOSED_BY_USER = 12006;

  // What the pane does after each Office SSO error. "dialog" tries the sign-in dialog, "retry"
  // calls getAccessToken once more after a pause, and "stop" shows the sign-in button with
  // the error's message. The causes follow Microsoft's "Troubleshoot error messages for
  // single sign-on" page.
  // NOTE: only 13000 to 13004 were checked against that page's current text.
  const SSO_ERRORS = {
    13000: "dialog", // getAccessToken is not supported by this Office version or manifest
    13001: "dialog", // the user is not signed in to Office
    13002: "stop", // the user cancelled sign-in or consent
    13003: "dialog", // the account type is not supported (for example an on-premises account)
    13004: "dialog", // invalid resource: the manifest's WebApplicationInfo is wrong
    13005: "dialog", // invalid grant: consent for the app is missing
    13006: "dialog", // client error in Office, which signing out of Office and in again may fix
    13007: "dialog", // Office could not get a token for the add-in
    13008: "retry", // an earlier getAccessToken call has not finished
    13009: "dialog", // forceConsent is not supported for this deployment
    13010: "dialog", // Office on the web in Edge Legacy or Internet Explorer with mixed zones
    13011: "dialog", // single sign-on is not available in this browser or setting
    13012: "dialog", // the platform does not support single sign-on (or it was sideloaded on the web)
    13013: "retry", // getAccessToken was called too often in a short time
  };

  class SignInFailed extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  function log(method, code, detail) {
    // Only the method, the code and the error's name go to the console, never a token.
    console.warn(`Mailgrip sign-in with ${method} failed`, { code, detail });
  }

  function ssoMessage(code) {
    return S.ssoErrors[code] || S.ssoErrors.other;
  }

  function expiresInFromJwt(token) {
    // The expiry is read without verifying the token, only to know when to ask for a new one.
    // Mailgrip's server verifies every token it receives.
    try {
      const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return Math.max(0, payload.exp - Math.floor(Date.now() / 1000));
    } catch {
      return 300;
    }
  }

  // ---- nested app authentication ----

  let nestableClient = null;

  async function withNestedAppAuth(interactive) {
    if (!nestableClient) {
      nestableClient = await msal.createNestablePublicClientApplication({
        auth: { clientId: auth.clientId, authority: auth.authority },
      });
    }
    const request = { scopes: auth.scopes };
    let result;
    try {
      result = await nestableClient.acquireTokenSilent(request);
    } catch (error) {
      if (!interactive) throw error;
      result = await nestableClient.acquireTokenPopup(request);
    }
    const expiresIn = result.expiresOn ? Math.floor((result.expiresOn.getTime() - Date.now()) / 1000) : expiresInFromJwt(result.accessToken);
    return { accessToken: result.accessToken, expiresIn };
  }

  // ---- Office single sign-on ----

  async function withOfficeSso(interactive) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const token = await Office.auth.getAccessToken({
          allowSignInPrompt: interactive,
          allowConsentPrompt: interactive,
          forMSGraphAccess: false,
        });
        return { accessToken: token, expiresIn: expiresInFromJwt(token) };
      } catch (error) {
        const code = Number(error && error.code);
        const action = SSO_ERRORS[code] || "dialog";
        log("Office SSO", code, error && error.name);
        if (action === "retry" && attempt === 0) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
          continue;
        }
        if (action === "stop") throw new SignInFailed(ssoMessage(code), code);
        return { fallbackCode: code };
      }
    }
  }

  // ---- sign-in dialog ----

  function withDialog() {
    return new Promise((resolve, reject) => {
      Office.context.ui.displayDialogAsync(auth.dialogUrl, { height: 60, width: 30, promptBeforeOpen: false }, (opened) => {
        if (opened.status !== Office.AsyncResultStatus.Succeeded) {
          log("the dialog", opened.error && opened.error.code, opened.error && opened.error.message);
          reject(new SignInFailed(S.dialogFailed, opened.error && opened.error.code));
          return;
        }
        const dialog = opened.value;
        dialog.addEventHandler(Office.EventType.DialogMessageReceived, (event) => {
          dialog.close();
          let answer = null;
          try {
            answer = JSON.parse(event.message);
          } catch {
            answer = null;
          }
          if (answer && answer.status === "success" && typeof answer.accessToken === "string") {
            resolve({ accessToken: answer.accessToken, expiresIn: Number(answer.expiresIn) || expiresInFromJwt(answer.accessToken) });
            return;
          }
          log("the dialog", "error", answer && answer.message);
          reject(new SignInFailed((answer && answer.message) || S.signinFailed, "dialog"));
        });
        dialog.addEventHandler(Office.EventType.DialogEventReceived, (event) => {
          const cancelled = event.error === DIALOG_CLOSED_BY_USER;
          if (!cancelled) log("the dialog", event.error, "dialog event");
          reject(new SignInFailed(cancelled ? S.signinCancelled : S.dialogFailed, event.error));
        });
      });
    });
  }

  // ---- the chain ----

  function supports(set, version) {
    const requirements = Office.context.requirements;
    return Boolean(requirements && requirements.isSetSupported(set, version));
  }

  /**
   * Acquire an access token for Mailgrip's API with the best method that works.
   * Without `interactive`, only methods that need no window or prompt are tried, so that the
   * pane can start signed in. The dialog opens only after the user pressed "Sign in".
   * Resolves to { accessToken, expiresIn } or rejects with SignInFailed, whose message says
   * why single sign-on did not work (empty when there is nothing to explain).
   */
  async function acquireToken({ interactive = false } = {}) {
    if (supports("NestedAppAuth", "1.1") && typeof msal !== "undefined") {
      try {
        return await withNestedAppAuth(interactive);
      } catch (error) {
        // msal reports a closed popup as user_cancelled; any other failure falls through.
        if (error && error.errorCode === "user_cancelled") throw new SignInFailed(S.signinCancelled, error.errorCode);
        log("nested app authentication", error && error.errorCode, error && error.name);
      }
    }
    let reason = "";
    if (supports("IdentityAPI", "1.3") && Office.auth && Office.auth.getAccessToken) {
      const result = await withOfficeSso(interactive);
      if (result.accessToken) return result;
      reason = ssoMessage(result.fallbackCode);
    }
    if (!interactive) throw new SignInFailed(reason, "interaction_required");
    if (!supports("DialogApi", "1.1")) throw new SignInFailed(S.signinUnavailable, "no_dialog");
    return withDialog();
  }

  return { acquireToken, SignInFailed, SSO_ERRORS };
})();
