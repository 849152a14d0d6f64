// The panel: the three stages' figures, read from the gateway about once a second.
//
// Plain JavaScript, no build step. Every figure comes from api/figures, which reads
// the local runtime's scalers and metrics and counts the database connections where
// the database keeps them; nothing here counts anything itself.
"use strict";

(function () {
  const STAGES = ["stateful", "pooled", "baas"];
  const POLL_MS = 1000;

  const by = (root, testid) => root.querySelector(`[data-testid="${testid}"]`);
  const form = by(document, "crowd-form");
  const users = by(document, "crowd-users");
  const start = by(document, "crowd-start");
  const status = by(document, "crowd-status");
  const source = by(document, "connection-source");
  const template = document.getElementById("figures");
  const intro = status.textContent;
  const cards = {};

  for (const stage of STAGES) {
    const section = by(document, `stage-${stage}`);
    section.append(template.content.cloneNode(true));
    by(section, "open-page").href = `../${stage}/`;
    section.querySelector(".service").hidden = stage !== "baas";
    cards[stage] = section;
  }

  function plural(count, one, many) {
    return `${count} ${count === 1 ? one : many}`;
  }

  function setFigure(card, testid, value, note) {
    const cell = by(card, testid);
    cell.textContent = String(value);
    if (note) {
      const small = document.createElement("small");
      small.textContent = ` ${note}`;
      cell.append(small);
    }
  }

  function renderInstances(card, instances) {
    const list = by(card, "instances");
    list.replaceChildren(
      ...instances.map((instance) => {
        const item = document.createElement("li");
        item.className = instance.state;
        item.dataset.testid = "instance";
        const number = instance.id.replace("instance-", "#");
        item.textContent = `${number} ${instance.state} · ${instance.invocations}`;
        const cold = instance.init_ms === null ? "" : `, cold start ${instance.init_ms} ms`;
        item.title = `${instance.id}: ${instance.state}, ${instance.invocations} invocations${cold}`;
        return item;
      }),
    );
  }

  function renderConnections(card, stage, connections) {
    if (!connections.counted) {
      setFigure(card, "connections", "–");
      by(card, "connections").title =
        connections.error || "counted on PostgreSQL, or on a SQLite file under Linux";
      setFigure(card, "service-connections", "–");
      return;
    }
    setFigure(card, "connections", connections.functions[stage]);
    setFigure(card, "service-connections", connections.service);
  }

  function renderResult(card, result) {
    const box = by(card, "crowd-result");
    if (!result) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const verdict = by(card, "verdict");
    const detail = by(card, "crowd-detail");
    if (result.error) {
      box.className = "result bad";
      verdict.textContent = "The crowd failed.";
      detail.textContent = result.error;
      return;
    }
    const wrong = result.lost > 0 || result.duplicate_ids > 0;
    box.className = `result ${wrong ? "bad" : "good"}`;
    if (result.lost > 0) {
      const parts = [`Lost ${result.lost} of ${result.saved} saved todos`];
      if (result.duplicate_ids > 0) parts.push(`${result.duplicate_ids} share an id with another`);
      verdict.textContent = `${parts.join("; ")}.`;
    } else if (wrong) {
      verdict.textContent =
        `All ${result.saved} saved todos are in their users' lists, but ` +
        `${result.duplicate_ids} share an id with another.`;
    } else {
      verdict.textContent = `All ${result.saved} saved todos are in their users' lists.`;
    }
    const served = plural(result.instances.length, "instance", "instances");
    let text = "";
    if (result.lost > 0) text = "Each user's list came from one instance, which had only what it saved. ";
    else if (wrong) text = "Each instance counts ids from 1: the same id names different todos. ";
    text += `${plural(result.users, "user", "users")}, ${result.requests} requests on ${served}`;
    text += `, ${plural(result.cold_starts, "cold start", "cold starts")}, ${result.seconds} s`;
    if (result.refused > 0) text += `; ${plural(result.refused, "answer", "answers")} refused`;
    by(card, "crowd-detail").textContent = `${text}.`;
  }

  function renderStatus(crowd) {
    if (!crowd) return;
    if (crowd.running) {
      status.textContent =
        `${plural(crowd.users, "user", "users")} on every stage at once, each adding ` +
        `${crowd.todos_each} todos at once…`;
    } else {
      status.textContent =
        `Done: ${plural(crowd.users, "user", "users")} on every stage, each added ` +
        `${crowd.todos_each} todos and listed them. Idle instances stop after a while; ` +
        "start again to see them start cold.";
    }
    start.disabled = crowd.running;
  }

  function render(figures) {
    for (const stage of STAGES) {
      const card = cards[stage];
      const figure = figures.stages[stage];
      setFigure(card, "running", figure.running, `of ${figure.max}`);
      setFigure(card, "cold-starts", figure.cold_starts);
      by(card, "invocations").textContent = String(figure.invocations);
      renderInstances(card, figure.instances);
      renderConnections(card, stage, figures.connections);
      const crowd = figures.crowd;
      renderResult(card, crowd && crowd.results ? crowd.results[stage] : null);
    }
    source.textContent = figures.connections.source || "nowhere (not counted here)";
    users.max = String(figures.max_users);
    renderStatus(figures.crowd);
  }

  async function poll() {
    try {
      const response = await fetch("api/figures", { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      render(await response.json());
    } catch (error) {
      status.textContent = "The panel cannot reach the demo: is it still running?";
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  function label() {
    const count = Number(users.value);
    start.textContent = Number.isInteger(count) && count > 0
      ? `Start ${plural(count, "user", "users")} on every stage`
      : "Start them on every stage";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const count = Number(users.value);
    start.disabled = true;
    try {
      const response = await fetch("api/crowd", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ users: count }),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.status !== 202) {
        status.textContent = answer.detail ? `${answer.detail}.` : `Refused (${response.status}).`;
        start.disabled = false;
        return;
      }
      status.textContent = `${plural(count, "user", "users")} starting on every stage…`;
    } catch (error) {
      status.textContent = "The panel cannot reach the demo: is it still running?";
      start.disabled = false;
    }
  });
  users.addEventListener("input", label);

  label();
  status.textContent = intro;
  poll();
})();
