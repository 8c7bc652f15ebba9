// Type-ahead for finding a household or young person by name or reference.
// Enhances <input data-person-lookup="/people/lookup" data-person-lookup-kinds="...">
// into a combobox (ARIA 1.2 pattern: a list of options below the field, arrow keys to
// move, Enter to choose, Escape to close). Choosing fills the field with the reference.
// Without JavaScript the form itself offers the matches to choose from after it is sent.
// The typed text goes in a POST body with the form's CSRF token, never in an address, so
// a name cannot reach the browser's history or a server's access log.

const DELAY_MS = 200;
const MIN_LENGTH = 2;

function option(listId, index, result) {
  const item = document.createElement("li");
  item.id = `${listId}-option-${index}`;
  item.className = "funds-lookup__option";
  item.setAttribute("role", "option");
  item.setAttribute("aria-selected", "false");
  item.dataset.reference = result.reference;
  item.dataset.label = result.label;
  const label = document.createElement("span");
  label.textContent = result.label;
  const detail = document.createElement("span");
  detail.className = "funds-lookup__detail";
  detail.textContent = result.detail;
  item.append(label, detail);
  return item;
}

// The CSRF token of the form the field is in (else the page's), for the X-CSRFToken header.
function csrfToken(input) {
  const own = input.form?.querySelector("input[name='csrf_token']");
  const meta = document.querySelector("meta[name='csrf-token']");
  const any = document.querySelector("input[name='csrf_token']");
  return own?.value ?? meta?.content ?? any?.value ?? "";
}

function enhance(input) {
  const listId = `${input.id}-matches`;
  const wrapper = document.createElement("div");
  wrapper.className = "funds-lookup";
  input.parentNode.insertBefore(wrapper, input);
  wrapper.appendChild(input);

  const list = document.createElement("ul");
  list.id = listId;
  list.className = "funds-lookup__list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Matching households and young people");
  list.hidden = true;
  wrapper.appendChild(list);

  const status = document.createElement("div");
  status.className = "govuk-visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  wrapper.appendChild(status);

  const chosen = document.createElement("p");
  chosen.className = "govuk-body-s funds-lookup__chosen";
  chosen.id = `${input.id}-chosen`;
  wrapper.appendChild(chosen);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listId);
  input.setAttribute("autocomplete", "off");
  const described = input.getAttribute("aria-describedby");
  input.setAttribute("aria-describedby", `${described ? `${described} ` : ""}${chosen.id}`);

  let timer = null;
  let asked = 0;
  let active = -1;

  const options = () => Array.from(list.children);

  function close() {
    list.hidden = true;
    list.replaceChildren();
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    options().forEach((item, position) => {
      const on = position === index;
      item.setAttribute("aria-selected", on ? "true" : "false");
      item.classList.toggle("funds-lookup__option--active", on);
      if (on) {
        input.setAttribute("aria-activedescendant", item.id);
        item.scrollIntoView({ block: "nearest" });
      }
    });
    active = index;
  }

  function choose(item) {
    input.value = item.dataset.reference;
    chosen.textContent = `Chosen: ${item.dataset.label}`;
    close();
    input.focus();
  }

  function show(results, more) {
    list.replaceChildren(...results.map((result, index) => option(listId, index, result)));
    const open = results.length > 0;
    list.style.width = `${input.offsetWidth}px`;
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    active = -1;
    if (!open) {
      status.textContent = "No matches";
      return;
    }
    const count = results.length === 1 ? "1 match" : `${results.length} matches`;
    status.textContent = `${count}${more ? ", type more to narrow them" : ""}. Use the up and down arrows to choose.`;
  }

  async function search() {
    const text = input.value.trim();
    chosen.textContent = "";
    if (text.length < MIN_LENGTH) {
      close();
      status.textContent = "";
      return;
    }
    const ask = ++asked;
    const body = new URLSearchParams({ q: text });
    if (input.dataset.personLookupKinds) body.set("kinds", input.dataset.personLookupKinds);
    try {
      const response = await fetch(input.dataset.personLookup, {
        method: "POST",
        body,
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken(input) },
        credentials: "same-origin",
      });
      if (ask !== asked || !response.ok) return;
      const answer = await response.json();
      if (ask === asked) show(answer.results, answer.more);
    } catch (error) {
      // The search step on the form still works when the type-ahead cannot.
      close();
    }
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, DELAY_MS);
  });
  input.addEventListener("keydown", (event) => {
    const items = options();
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      highlight(Math.min(active + 1, items.length - 1));
    } else if (event.key === "ArrowUp" && items.length) {
      event.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (event.key === "Enter" && !list.hidden && active >= 0) {
      event.preventDefault();
      choose(items[active]);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      close();
    }
  });
  list.addEventListener("mousedown", (event) => {
    // Before the field loses focus, so the list is still there to click.
    event.preventDefault();
    const item = event.target.closest("[role=option]");
    if (item) choose(item);
  });
  input.addEventListener("blur", () => window.setTimeout(close, 150));
}

export function initPersonLookup(root = document) {
  root.querySelectorAll("input[data-person-lookup]").forEach(enhance);
}
