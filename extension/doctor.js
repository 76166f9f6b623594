// The extension page: the same app as on the SCM page, for a site whose own
// Content-Security-Policy keeps the wasm from running there. It reads that site's APIs with the
// extension's host permission. It is not web-accessible: only background.js opens it, for the
// SCM tab whose loader asked, with a one-time token in the URL's fragment. The app mounts only
// when that token is in `storage.session`, unexpired, and was issued for the `?site=` origin
// (which scm-host.js must also accept); the token is spent on first use.
import init, { mount } from "./pkg/kudu_doctor.js";

const root = document.getElementById("app");
const site = new URLSearchParams(location.search).get("site") ?? "";
const origin = globalThis.kuduDoctorScmHost.scmOrigin(site);
const token = location.hash.slice(1);
// The token is spent whatever happens next; it leaves the address bar and the history too.
history.replaceState(null, "", `${location.pathname}${location.search}`);

function refuse(text) {
  root.dataset.state = "refused";
  root.textContent = text;
}

async function redeem(token) {
  if (!/^[0-9a-f]{64}$/.test(token)) return null;
  const storage = (globalThis.browser ?? globalThis.chrome).storage.session;
  const key = `doctor-token:${token}`;
  const entry = (await storage.get(key))[key];
  await storage.remove(key);
  if (typeof entry?.site !== "string" || !(entry.expires > Date.now())) return null;
  return entry.site;
}

if (window.top !== window) {
  // Another page framing this one could overlay it and steer clicks: refuse to render.
  refuse("409 Doctor does not run inside a frame.");
} else if (origin === null) {
  refuse("409 Doctor opens only for Kudu (SCM) sites, such as https://myapp.scm.azurewebsites.net.");
} else if ((await redeem(token).catch(() => null)) !== origin) {
  refuse("Open 409 Doctor from its button on your Kudu (SCM) site's page: this link is not valid here.");
} else {
  await init();
  mount(root, { origin, autoOpen: true, embedded: false }, null);
  // Set once the app is mounted: the e2e suite reads it from the tab list.
  document.title = `409 Doctor: ${new URL(origin).hostname}`;
}
