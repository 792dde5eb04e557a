// A stand-in for the host side of classic Outlook on Windows, for browser tests.
//
// No Outlook can run on a test machine, and Office.js outside Office reports no host. Classic
// Outlook talks to the add-in's page through `window.external`: GetHostInfo names the host,
// GetContext describes it, and Execute runs host methods such as GetInitialData (dispid 1),
// which returns the open item. This script, run before any page script, provides those
// calls, so the real Office.js from npm loads its real Outlook script, builds the real
// Office.context.mailbox and resolves Office.onReady with host Outlook.
//
// The test sets `window.__outlookHost` before this script: { item, user, requirements,
// theme, sso, naa }.
// Dialogs that the pane opens with displayDialogAsync become popup windows named
// "outlook-dialog", which run the same script as a dialog host, and their messageParent
// calls are passed to the pane's event handler.
(() => {
  const host = window.__outlookHost;
  if (!host) return;
  const isDialog = window.name === "outlook-dialog";
  const calls = [];
  window.__outlookHostCalls = calls;

  const GET_INITIAL_DATA = 1;
  // Office.auth.getAccessToken (dispidGetAccessTokenMethod). The stand-in returns
  // host.sso: { token } for success or { error } with an SSO error code such as 13003.
  const GET_ACCESS_TOKEN = 98;
  // Outlook's result code for a method it does not support (ooeOperationNotSupported).
  const NOT_SUPPORTED = 5000;

  // The host returns its data as a SAFEARRAY, which Office.js reads with toArray().
  const safeArray = (values) => ({ toArray: () => values });

  const requirements = JSON.stringify(host.requirements);
  const context = {
    GetAppType: () => 8, // OSF.AppName.Outlook
    GetSolutionRef: () => "8b4fd0f6-0c0b-4b36-9a55-1f2b3c4d5e6f",
    GetAppVersionMajor: () => 16,
    GetAppVersionMinor: () => 0,
    GetAppUILocale: () => "en-US",
    GetAppDataLocale: () => "en-US",
    GetDocUrl: () => "",
    GetAppCapabilities: () => 0,
    GetActivationMode: () => 0,
    GetControlIntegrationLevel: () => 0,
    GetSolutionToken: () => "",
    GetCorrelationId: () => "00000000-0000-0000-0000-000000000000",
    GetInstanceId: () => "00000000-0000-0000-0000-000000000001",
    GetTouchEnabled: () => false,
    GetCommerceAllowed: () => false,
    GetSupportedMatrix: () => requirements,
    GetHostCustomMessage: () => "",
    GetHostFullVersion: () => "16.0.17928.20114",
    GetDialogRequirementMatrix: () => requirements,
    GetInitialDisplayMode: () => 0,
    // Roaming settings: Read fills the two arrays it is given, as the COM host does.
    GetSettings: () => ({ Read() {}, Write() {} }),
    // Office's theme colours as integers 0xRRGGBB, which Office.js turns into #rrggbb.
    GetOfficeThemeInfo: () => JSON.stringify(host.theme),
  };

  function initialData() {
    const { item, user } = host;
    if (!item) return null;
    const person = (entry) => ({ address: entry.address, name: entry.name });
    return {
      itemType: 1, // HostItemType.Message, read mode
      itemClass: "IPM.Note",
      id: item.itemId,
      internetMessageId: item.internetMessageId,
      subject: item.subject,
      normalizedSubject: item.subject,
      from: person(item.from),
      sender: person(item.from),
      to: item.to.map(person),
      cc: [],
      dateTimeCreated: Date.parse(item.sent),
      dateTimeModified: Date.parse(item.sent),
      dateTimeSent: Date.parse(item.sent),
      permissionLevel: 1, // ReadItem
      userEmailAddress: user.address,
      userDisplayName: user.name,
      userProfileType: 2,
      hostVersion: "16.0.17928.20114",
      isRestIdSupported: true,
      ewsUrl: "",
      restUrl: "",
    };
  }

  // Office.js opens a dialog by registering the handler of event 10 (DialogMessageReceived)
  // with the dialog's URL and options as JSON in the target id, and closes it by
  // unregistering that event.
  const DIALOG_EVENT = 10;
  let dialog = null;

  function openDialog(targetId, handler) {
    const { url } = JSON.parse(targetId);
    const popup = window.open(url, "outlook-dialog");
    // The host delivers a message as [message type, content, origin]; type 0 is a message from
    // the dialog (OSF.DialogMessageType.DialogMessageReceived).
    window.__outlookHostDialogMessage = (message) => {
      handler(DIALOG_EVENT, safeArray([0, message, new URL(url).origin]));
    };
    dialog = popup;
  }

  // Outlook hosts that support nested app authentication inject window.nestedAppAuthBridge,
  // which msal-browser's nestable client sends JSON requests to. The stand-in answers
  // GetInitContext, and GetToken or GetTokenPopup with host.naa: { token, account }.
  if (host.naa && !isDialog) {
    const listeners = [];
    window.nestedAppAuthBridge = {
      addEventListener(type, listener) {
        if (type === "message") listeners.push(listener);
      },
      removeEventListener(type, listener) {
        const index = listeners.indexOf(listener);
        if (index >= 0) listeners.splice(index, 1);
      },
      postMessage(text) {
        const request = JSON.parse(text);
        calls.push({ method: "nestedAppAuthBridge", request: request.method });
        const response = { messageType: "NestedAppAuthResponse", requestId: request.requestId, success: true };
        if (request.method === "GetInitContext") {
          response.initContext = { sdkName: "outlook-host-stand-in", sdkVersion: "1.0.0" };
        } else if (request.method === "GetToken" || request.method === "GetTokenPopup") {
          response.token = host.naa.token;
          response.account = host.naa.account;
        } else {
          response.success = false;
          response.error = { status: "NESTED_APP_AUTH_UNAVAILABLE", description: `${request.method} is not supported` };
        }
        setTimeout(() => listeners.forEach((listener) => listener({ data: JSON.stringify(response) })), 0);
      },
    };
  }

  window.external = {
    GetHostInfo: () => `Outlook$Win32$16.02$en-US$$${isDialog ? "isDialog" : ""}$$0`,
    GetContext: () => context,
    Execute(dispid, params, callback) {
      calls.push({ method: "Execute", dispid });
      if (dispid === GET_ACCESS_TOKEN && host.sso) {
        // The host returns [status, payload], or a bare number as an error status.
        callback(host.sso.error ? host.sso.error : safeArray([0, host.sso.token]), 0);
        return;
      }
      if (dispid === GET_INITIAL_DATA && !isDialog) {
        const data = initialData();
        callback(safeArray(data ? [JSON.stringify(data), 0] : []), 0);
        return;
      }
      callback(safeArray([JSON.stringify(NOT_SUPPORTED)]), 0);
    },
    RegisterEvent(dispid, targetId, handler, callback) {
      calls.push({ method: "RegisterEvent", dispid, targetId });
      if (dispid === DIALOG_EVENT) openDialog(targetId, handler);
      callback(0);
    },
    UnregisterEvent(dispid, targetId, callback) {
      calls.push({ method: "UnregisterEvent", dispid, targetId });
      if (dispid === DIALOG_EVENT && dialog) {
        dialog.close();
        dialog = null;
      }
      callback(0);
    },
    MessageParent(message) {
      calls.push({ method: "MessageParent" });
      window.opener.__outlookHostDialogMessage(message);
    },
  };
})();
