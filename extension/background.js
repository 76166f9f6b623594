// The only way into the extension page doctor.html (the CSP fallback). doctor.html is not a
// web-accessible resource, so no web page, on an app host or anywhere else, can open or frame
// it: Chrome and Firefox both refuse a page's navigation to an extension page the manifest does
// not expose. (Chrome's `use_dynamic_url` would only hide a resource's URL, and Firefox ignores
// it; leaving the page out of web_accessible_resources is what both browsers honour.)
//
// The loader on an SCM page asks for the page with `runtime.sendMessage`; this script checks
// that the message came from the top frame of a tab showing an SCM site, takes that site from
// the sender (never from the message), keeps a one-time token for it in `storage.session`
// (memory only, readable by extension pages and not by content scripts) and opens
// `doctor.html?site=<origin>#<token>` next to that tab. doctor.js redeems the token once and
// mounts the app only for the site it was issued for; a stale, reused or missing token gets no
// app.
//
// Chrome runs this as the service worker (scm-host.js imported below); Firefox as a
// non-persistent background script listed after scm-host.js (manifest.rs renders each).
"use strict";

if (globalThis.kuduDoctorScmHost === undefined) {
  // Chrome's service worker; Firefox's background page lists scm-host.js before this script.
  importScripts("scm-host.js");
}

const extension = globalThis.browser ?? globalThis.chrome;
// Long enough for a slow tab to load doctor.js; short enough that a token left unredeemed
// (the tab closed at once) is dead before anyone could find it.
const TOKEN_LIFETIME_MS = 60_000;

extension.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (message?.kind !== "open-doctor") return false;
  openDoctor(sender).then(
    (opened) => sendResponse({ opened }),
    (error) => sendResponse({ opened: false, error: String(error) }),
  );
  return true;
});

async function openDoctor(sender) {
  // Only our own content script, in the top frame of a tab on an SCM site.
  if (sender.id !== extension.runtime.id || sender.tab === undefined || sender.frameId !== 0) {
    return false;
  }
  let site;
  try {
    site = globalThis.kuduDoctorScmHost.scmOrigin(new URL(sender.url).origin);
  } catch {
    site = null;
  }
  if (site === null) return false;
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  await extension.storage.session.set({
    [`doctor-token:${token}`]: { site, expires: Date.now() + TOKEN_LIFETIME_MS },
  });
  const url = `${extension.runtime.getURL("doctor.html")}?site=${encodeURIComponent(site)}#${token}`;
  await extension.tabs.create({ url, index: sender.tab.index + 1, openerTabId: sender.tab.id });
  return true;
}
