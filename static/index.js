// The standalone page: the app for the SCM site that serves this page, reading its APIs with
// same-origin relative requests (the user's own session).
import init, { mount } from "./pkg/kudu_doctor.js";

await init();
mount(document.getElementById("app"), { origin: null, autoOpen: true, embedded: false }, null);
