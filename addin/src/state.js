// The state of one message being composed, kept in the item's session data because Outlook may
// start a new runtime for each event.
(function (root) {
  "use strict";
  const Mailgrip = (root.Mailgrip = root.Mailgrip || {});
  const office = Mailgrip.office;

  const KEY = "mailgrip";

  /**
   * Read the state: `shareId`, `link` and `openTrackingUrl` of the draft share, and `uploads`
   * by attachment id, each `{uploadId, name, size, complete, fileName, fileSize, replaced}`.
   * `replaced` is set once the send handler put the file in the body's secure-files block.
   */
  async function load(item) {
    const all = (await office.getSessionData(item)) || {};
    if (!all[KEY]) {
      return { shareId: null, link: null, openTrackingUrl: null, uploads: {} };
    }
    return JSON.parse(all[KEY]);
  }

  async function save(item, state) {
    await office.setSessionData(item, KEY, JSON.stringify(state));
  }

  let queue = Promise.resolve();

  /**
   * Run `task` after every task queued before it, so two events of one runtime never read
   * and write the state at the same time.
   */
  function serialized(task) {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  }

  Mailgrip.state = { KEY, load, save, serialized };
})(typeof globalThis !== "undefined" ? globalThis : self);
