// The register: a filter over the list of young people, and the "Tick everyone who
// usually comes" button ticking them in place. Without JavaScript the list is still in
// name order and the button reloads the page with them ticked.

function fold(text) {
  return text.normalize("NFD").replace(/\p{Diacritic}/gu, "").toLocaleLowerCase();
}

function addFilter(checkboxes) {
  const items = Array.from(checkboxes.querySelectorAll(".govuk-checkboxes__item"));
  const fieldset = checkboxes.closest("fieldset") || checkboxes;
  const group = document.createElement("div");
  group.className = "govuk-form-group";
  const label = document.createElement("label");
  label.className = "govuk-label govuk-label--s";
  label.htmlFor = "register-filter";
  label.textContent = "Filter the list by name or reference";
  const input = document.createElement("input");
  input.className = "govuk-input govuk-!-width-one-half";
  input.id = "register-filter";
  input.type = "search";
  input.autocomplete = "off";
  input.spellcheck = false;
  const status = document.createElement("p");
  status.className = "govuk-body-s govuk-!-margin-top-1";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  group.append(label, input, status);
  fieldset.parentNode.insertBefore(group, fieldset);

  input.addEventListener("input", () => {
    const wanted = fold(input.value.trim());
    let shown = 0;
    items.forEach((item) => {
      const text = fold(item.querySelector("label").textContent);
      const match = !wanted || text.includes(wanted);
      item.hidden = !match;
      if (match) shown += 1;
    });
    status.textContent = wanted
      ? `Showing ${shown} of ${items.length}. Anyone ticked stays ticked when hidden.`
      : "";
  });
}

function addUsualButton(button, checkboxes) {
  const wanted = new Set(button.dataset.registerUsual.split(",").filter(Boolean));
  const status = document.createElement("span");
  status.className = "govuk-body-s govuk-!-display-block";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  button.parentNode.appendChild(status);
  button.addEventListener("click", (event) => {
    event.preventDefault();
    let ticked = 0;
    checkboxes.querySelectorAll("input[type=checkbox]").forEach((box) => {
      if (wanted.has(box.value)) {
        box.checked = true;
        ticked += 1;
      }
    });
    status.textContent = `${ticked} ticked: check the list, then save the register.`;
  });
}

export function initRegister(root = document) {
  const checkboxes = root.querySelector("[data-register]");
  if (!checkboxes) return;
  addFilter(checkboxes);
  const button = root.querySelector("[data-register-usual]");
  if (button) addUsualButton(button, checkboxes);
}
