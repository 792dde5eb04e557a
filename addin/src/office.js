// Promise wrappers around the callback-style Office.js mailbox API used by the launch events.
(function (root) {
  "use strict";
  const Mailgrip = (root.Mailgrip = root.Mailgrip || {});

  /** An Office.js call that reported failure; `code` and `name` come from Office's error. */
  class OfficeCallError extends Error {
    constructor(method, error) {
      const detail = error ? `${error.name || "error"} ${error.code || ""}: ${error.message || ""}` : "";
      super(`Office.js ${method} failed. ${detail}`.trim());
      this.method = method;
      this.code = error && error.code;
    }
  }

  /** Call `target[method](...args, callback)` and settle with the AsyncResult's value. */
  function call(target, method, ...args) {
    return new Promise((resolve, reject) => {
      target[method](...args, (result) => {
        // Office.AsyncResultStatus.Failed is the string "failed".
        if (result && result.status === "failed") {
          reject(new OfficeCallError(method, result.error));
        } else {
          resolve(result ? result.value : undefined);
        }
      });
    });
  }

  function currentItem() {
    return root.Office.context.mailbox.item;
  }

  Mailgrip.office = {
    OfficeCallError,
    call,
    currentItem,
    getAttachments: (item) => call(item, "getAttachmentsAsync"),
    getAttachmentContent: (item, id) => call(item, "getAttachmentContentAsync", id),
    removeAttachment: (item, id) => call(item, "removeAttachmentAsync", id),
    getBodyType: (item) => call(item.body, "getTypeAsync"),
    getBody: (item, type) => call(item.body, "getAsync", type),
    setBody: (item, text, type) => call(item.body, "setAsync", text, { coercionType: type }),
    loadCustomProperties: (item) => call(item, "loadCustomPropertiesAsync"),
    saveCustomProperties: (properties) => call(properties, "saveAsync"),
    getSessionData: (item) => call(item.sessionData, "getAllAsync"),
    setSessionData: (item, name, value) => call(item.sessionData, "setAsync", name, value),
    showProgress: (item, key, message) =>
      call(item.notificationMessages, "replaceAsync", key, { type: "progressIndicator", message }),
    showInformation: (item, key, message) =>
      call(item.notificationMessages, "replaceAsync", key, {
        type: "informationalMessage",
        message,
        icon: "Icon.16",
        persistent: false,
      }),
    removeNotification: (item, key) => call(item.notificationMessages, "removeAsync", key),
  };
})(typeof globalThis !== "undefined" ? globalThis : self);
