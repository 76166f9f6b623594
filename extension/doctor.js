// The extension page: the same app as on the SCM page, for a site whose own
// Content-Security-Policy keeps the wasm from running there. It reads that site's APIs with the
// extension's host permission; `?site=` must name an SCM origin (scm-host.js) or nothing loads.
import init, { mount } from "./pkg/kudu_doctor.js";

const root = document.getElementById("app");
const site = new URLSearchParams(location.search).get("site") ?? "";
const origin = globalThis.kuduDoctorScmHost.scmOrigin(site);

if (window.top !== window) {
  // Another page framing this one could overlay it and steer clicks: refuse to render.
  root.dataset.state = "refused";
  root.textContent = "409 Doctor does not run inside a frame.";
} else if (origin === null) {
  root.dataset.state = "refused";
  root.textContent = "409 Doctor opens only for Kudu (SCM) sites, such as https://myapp.scm.azurewebsites.net.";
} else {
  document.title = `409 Doctor: ${new URL(origin).hostname}`;
  await init();
  mount(root, { origin, autoOpen: true, embedded: false }, null);
}
