// tweetsent web page: one tweet in, label + probability bars + attention highlighting out.
// Plain DOM code, no framework, nothing from a CDN; text is only ever set as textContent.
"use strict";

const $ = (id) => document.getElementById(id);
let attentionAvailable = false;

async function loadModel() {
  try {
    const response = await fetch("/v1/model");
    const card = await response.json();
    if (!response.ok) {
      $("model").textContent = (card.error && card.error.message) || "the model is not ready";
      setTimeout(loadModel, 1000);
      return;
    }
    attentionAvailable = Boolean(card.attention);
    $("model").textContent = `${card.name}: ${card.summary} · labels ${card.labels.join(", ")}`;
    $("model").dataset.ready = "true";
    if (card.limits) $("text").maxLength = card.limits.max_chars;
  } catch (err) {
    $("model").textContent = "cannot reach the server";
    setTimeout(loadModel, 2000);
  }
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function renderProbs(probs, label) {
  const box = $("probs");
  box.replaceChildren();
  for (const [name, p] of Object.entries(probs)) {
    const nameEl = document.createElement("span");
    nameEl.className = "name";
    nameEl.textContent = name;
    const track = document.createElement("div");
    track.className = "track";
    const bar = document.createElement("div");
    bar.className = `bar ${name}`;
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    bar.dataset.label = name;
    bar.title = `${name}: ${p.toFixed(4)}`;
    track.appendChild(bar);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = `${(100 * p).toFixed(1)}%`;
    box.append(nameEl, track, value);
  }
}

function renderTokens(pairs) {
  const box = $("tokens");
  box.replaceChildren();
  if (!pairs) {
    $("tokens-note").textContent = attentionAvailable
      ? "no tokens"
      : "This model has no self-attention: tokens are not highlighted.";
    return;
  }
  const top = Math.max(...pairs.map((pair) => pair.weight), 1e-12);
  for (const { token, weight } of pairs) {
    const span = document.createElement("span");
    span.className = "tok weighted";
    span.textContent = token || "∅";
    span.dataset.weight = String(weight);
    span.title = `attention ${weight.toFixed(4)}`;
    span.style.backgroundColor = `rgba(245, 158, 11, ${(0.85 * weight / top).toFixed(3)})`;
    box.appendChild(span);
  }
  $("tokens-note").textContent = "Shading: self-attention weight (darkest = the largest).";
}

async function predict(event) {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  $("error").hidden = true;
  $("submit").disabled = true;
  try {
    const response = await fetch("/v1/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ texts: [text], attention: attentionAvailable }),
    });
    const body = await response.json();
    if (!response.ok) {
      showError((body.error && body.error.message) || `error ${response.status}`);
      return;
    }
    const pred = body.predictions[0];
    $("label").textContent = pred.label;
    $("label").className = `label ${pred.label}`;
    $("empty").hidden = !pred.empty;
    renderProbs(pred.probs, pred.label);
    renderTokens(pred.attention || null);
    $("result").hidden = false;
  } catch (err) {
    showError("cannot reach the server");
  } finally {
    $("submit").disabled = false;
  }
}

$("form").addEventListener("submit", predict);
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("form").requestSubmit();
});
$("text").addEventListener("input", () => {
  $("count").textContent = `${$("text").value.length} / ${$("text").maxLength}`;
});
loadModel();
