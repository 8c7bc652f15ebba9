// Start the GOV.UK Frontend components (error summary focus, password reveal, menus).
import { initAll } from "../govuk/govuk-frontend.min.js";

initAll();
