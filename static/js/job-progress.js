// A background job's page: ask how the job is doing every second and show it, without
// reloading. When it is done, go to what it made. Without JavaScript the page has a
// "Check again" link.

const INTERVAL_MS = 1000;

function describe(state) {
  if (!state.total) return "Started";
  const done = state.done.toLocaleString("en-GB");
  const total = state.total.toLocaleString("en-GB");
  let text = `${done} of ${total} rows (${state.percent}%)`;
  if (state.seconds_left !== null) {
    text += `, about ${state.seconds_left} ${state.seconds_left === 1 ? "second" : "seconds"} left`;
  }
  return text;
}

export function initJobProgress(root = document) {
  const box = root.querySelector("[data-job-progress]");
  const bar = root.getElementById("job-bar");
  const status = root.getElementById("job-status");
  const stage = root.getElementById("job-stage");
  const announce = root.getElementById("job-announce");
  if (!box || !bar || !status) return;
  let announced = "";
  async function poll() {
    try {
      const response = await fetch(box.dataset.jobProgress, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const state = await response.json();
      if (state.state === "done" || state.state === "failed" || state.state === "stalled") {
        window.location.replace(state.result_url || window.location.href);
        return;
      }
      bar.value = state.percent;
      bar.textContent = `${state.percent}%`;
      if (stage && state.stage) stage.textContent = state.stage;
      const text = describe(state);
      status.textContent = text;
      // Said aloud at most every 10%, not every second.
      const decile = `${Math.floor(state.percent / 10)}`;
      if (announce && decile !== announced) {
        announced = decile;
        announce.textContent = text;
      }
    } catch (error) {
      // Try again at the next tick; the "Check again" link still works.
    }
    window.setTimeout(poll, INTERVAL_MS);
  }
  window.setTimeout(poll, INTERVAL_MS);
}
