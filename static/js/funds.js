// Start the GOV.UK Frontend components (error summary focus, password reveal, menus),
// then funds' own enhancements.
import { initAll } from "../govuk/govuk-frontend.min.js";
import { initPersonLookup } from "./person-lookup.js";
import { initJobProgress } from "./job-progress.js";
import { initRegister } from "./register.js";

initAll();
initPersonLookup();
initRegister();
initJobProgress();
