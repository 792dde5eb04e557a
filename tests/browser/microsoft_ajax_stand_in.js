// A stand-in for the few members of Microsoft's MicrosoftAjax.js that Office.js uses, for
// browser tests only.
//
// Inside Outlook, Office.js's Outlook scripts load MicrosoftAjax.js from ajax.aspnetcdn.com
// unless the page already has it. No npm package ships that file, and the tests reach no host
// but loopback. So this script defines, before the page's scripts run, what Office.js 1.1.110
// reads from it: Type.registerNamespace and registerClass, Sys.StringBuilder,
// Sys.Serialization.JavaScriptSerializer, Sys.Debug, Function._validateParams and the Error
// factories. Parameter validation is left out, because _validateParams accepts everything.
(() => {
  if (!window.__outlookHost) return;
  window.Type = Function;
  Type.registerNamespace = (namespace) => {
    let scope = window;
    for (const part of namespace.split(".")) scope = scope[part] = scope[part] || {};
  };
  Function.prototype.registerClass = function registerClass() {
    return this;
  };
  Function._validateParams = () => null;

  function sysError(name, message, extra) {
    return Object.assign(new Error(message), { name }, extra);
  }
  Error.create = (message, extra) => Object.assign(new Error(message), extra);
  Error.argument = (paramName, message) =>
    sysError("Sys.ArgumentException", message || `Invalid argument ${paramName}.`, { paramName });
  Error.argumentNull = (paramName, message) =>
    sysError("Sys.ArgumentNullException", message || `${paramName} is null.`, { paramName });
  Error.argumentOutOfRange = (paramName, value, message) =>
    sysError("Sys.ArgumentOutOfRangeException", message || `${paramName} is out of range.`, { paramName, actualValue: value });
  Error.argumentType = (paramName, actualType, expectedType, message) =>
    sysError("Sys.ArgumentTypeException", message || `${paramName} has the wrong type.`, { paramName });
  Error.argumentUndefined = (paramName, message) =>
    sysError("Sys.ArgumentUndefinedException", message || `${paramName} is undefined.`, { paramName });
  Error.parameterCount = (message) => sysError("Sys.ParameterCountException", message || "Wrong number of parameters.");
  Error.invalidOperation = (message) => sysError("Sys.InvalidOperationException", message || "Invalid operation.");
  Error.notImplemented = (message) => sysError("Sys.NotImplementedException", message || "Not implemented.");

  class StringBuilder {
    constructor(initial) {
      this.parts = initial ? [String(initial)] : [];
    }
    append(text) {
      this.parts.push(String(text));
    }
    appendLine(text) {
      this.parts.push(`${text === undefined ? "" : text}\r\n`);
    }
    clear() {
      this.parts = [];
    }
    isEmpty() {
      return this.parts.length === 0;
    }
    toString(separator) {
      return this.parts.join(separator || "");
    }
  }

  window.Sys = {
    StringBuilder,
    Debug: { trace() {}, traceDump() {}, assert() {}, fail() {}, clearTrace() {} },
    Serialization: {
      JavaScriptSerializer: { serialize: (value) => JSON.stringify(value), deserialize: (text) => JSON.parse(text) },
    },
  };
})();
