// The supervisor's KPI dashboard: every figure comes from /api/console/kpis (ledger.kpis); this page only formats
// it and draws it with Chart.js (vendored by scripts/setup.sh). Values are written with textContent, never as HTML.
"use strict";

const DASH = "—";
// Each card: what it shows, its definition (numerator / denominator) in Chinese and English.
const CARDS = [
  { id: "contact_rate", title: "接通率 Contact rate", rate: "contact_rate", num: "calls_answered", den: "calls_placed",
    zh: "有人接听的外呼 / 拨出的外呼", en: "calls a person answered / calls placed" },
  { id: "right_party_contact_rate", title: "本人接触率 Right-party contact rate", rate: "right_party_contact_rate",
    num: "conversations_verified", den: "conversations",
    zh: "核实了本人身份的对话 / 全部对话", en: "conversations in which the borrower's identity was verified / all conversations" },
  { id: "promise_to_pay_rate", title: "承诺还款率 Promise-to-pay rate", rate: "promise_to_pay_rate",
    num: "conversations_with_promise", den: "conversations_verified",
    zh: "有还款承诺的已核实对话 / 已核实对话", en: "verified conversations with a promise to pay / verified conversations" },
  { id: "kept_promise_rate", title: "守约率 Kept-promise rate", rate: "kept_promise_rate", num: "promises_kept",
    den: "promises_judged", zh: "已兑现的承诺 / 已判定的承诺（兑现＋违约），承诺在区间内作出",
    en: "promises kept / promises judged (kept + broken), of promises made in the range" },
  { id: "recovery_rate", title: "回收金额 / 承诺金额 Recovered vs promised", rate: "recovery_rate",
    num: "recovered_cents", den: "promised_cents", money: true,
    zh: "区间内还款（冲抵欠款部分）/ 区间内承诺的金额", en: "paid in the range (applied to balances) / amount promised in the range" },
  { id: "average_days_to_cure", title: "平均治愈天数 Average days to cure", rate: "average_days_to_cure",
    num: "days_to_cure", den: "accounts_cured", unit: "days",
    zh: "结清时的逾期天数之和 / 区间内结清的逾期账户数", en: "days past due at settlement, summed / overdue accounts settled in the range" },
  { id: "handoff_rate", title: "转人工率 Handoff rate", rate: "handoff_rate", num: "conversations_with_handoff",
    den: "conversations", zh: "请求转人工的对话 / 全部对话", en: "conversations with a handoff request / all conversations" },
  { id: "average_handoff_wait_seconds", title: "转人工平均等待 Handoff wait", rate: "average_handoff_wait_seconds",
    num: "handoff_wait_seconds", den: "handoffs_answered", unit: "seconds",
    zh: "从转人工请求到坐席首次发言的秒数之和 / 坐席已回应的转人工", en: "seconds from the handoff request to a person's first message, summed / handoffs a person answered" },
  { id: "blocks", title: "合规拦截 Compliance blocks", count: "blocks",
    parts: [["机器人 bot", "blocks_bot"], ["坐席 agent", "blocks_agent"]],
    zh: "被合规检查拦下、未发出的话语", en: "utterances the compliance check stopped (never sent)" },
  { id: "disputes", title: "异议 Disputes", count: "disputes",
    zh: "区间内记录的异议（含未核实方提出、待核实的）", en: "disputes recorded in the range (unverified parties' included)" },
  { id: "complaint_rate", title: "投诉率 Complaint rate", rate: "complaint_rate", num: "complaints", den: "conversations",
    zh: "抱怨被联系的对话（每个对话记一次）/ 全部对话", en: "conversations where the party complained about being contacted (once each) / all conversations" },
  { id: "compliant_review_rate", title: "质检合规率 Compliant-review rate", rate: "compliant_review_rate",
    num: "reviews_passed", den: "reviews",
    zh: "区间内质检无一项不通过的对话 / 区间内质检的对话", en: "conversations reviewed in the range with no checklist item failed / conversations reviewed in the range" },
  { id: "stop_requests", title: "要求停止联系 Stop-contact requests", count: "stop_requests",
    zh: "区间内登记的停止联系", en: "do-not-contact entries recorded in the range" },
];
const COLUMNS = [
  ["calls_placed", "外呼"], ["calls_answered", "接通"], ["messages_sent", "短信"], ["conversations", "对话"],
  ["conversations_verified", "核实"], ["promises", "承诺"], ["promised_cents", "承诺金额", "money"],
  ["recovered_cents", "回收金额", "money"], ["contact_rate", "接通率", "percent"],
  ["right_party_contact_rate", "本人接触率", "percent"], ["promise_to_pay_rate", "承诺率", "percent"],
  ["kept_promise_rate", "守约率", "percent"], ["handoff_rate", "转人工率", "percent"], ["blocks", "拦截"],
  ["disputes", "异议"], ["complaints", "投诉"], ["compliant_review_rate", "质检合规率", "percent"],
];
const BUCKETS = { current: "未逾期", dpd_1_30: "M1 (1-30)", dpd_31_60: "M2 (31-60)", dpd_61_90: "M3 (61-90)",
                  dpd_90_plus: "M3+ (90+)", settled: "已结清" };
const charts = {};

const percent = (x) => (x === null || x === undefined ? DASH : `${(x * 100).toFixed(1)}%`);
const yuan = (cents) => `¥${(cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const seconds = (x) => (x === null ? DASH : `${Math.round(x)} 秒`);
const days = (x) => (x === null ? DASH : `${x.toFixed(1)} 天`);

function formatted(value, kind) {
  if (kind === "money") return yuan(value);
  if (kind === "percent") return percent(value);
  return String(value);
}

function params() {
  const query = new URLSearchParams({ by: $("kpi-by").value });
  if ($("kpi-start").value) query.set("start", $("kpi-start").value); // empty at first: the server's last 30 days
  if ($("kpi-end").value) query.set("end", $("kpi-end").value);
  for (const select of document.querySelectorAll(".kpi-filter")) {
    if (select.value) query.set(select.dataset.dimension, select.value);
  }
  return query;
}

function card(spec, totals) {
  const box = el("div", undefined, "kpi-card");
  box.id = `kpi-${spec.id}`;
  box.append(el("h3", spec.title));
  let value, detail;
  if (spec.count) {
    value = String(totals[spec.count]);
    detail = (spec.parts || []).map(([label, name]) => `${label} ${totals[name]}`).join(" · ");
  } else {
    const rate = totals[spec.rate];
    value = spec.unit === "seconds" ? seconds(rate) : spec.unit === "days" ? days(rate) : percent(rate);
    const show = (name) => (spec.money ? yuan(totals[name]) : String(Math.round(totals[name])));
    detail = `${show(spec.num)} / ${show(spec.den)}`;
  }
  box.append(el("p", value, "kpi-value"), el("p", detail, "kpi-detail"),
             el("p", spec.zh, "kpi-definition"), el("p", spec.en, "kpi-definition en"));
  return box;
}

function fillFilters(options) {
  for (const select of document.querySelectorAll(".kpi-filter")) {
    const chosen = select.value;
    const values = options[select.dataset.dimension] || [];
    const all = el("option", "全部 all");
    all.value = "";
    select.replaceChildren(all, ...values.map((value) => { const o = el("option", value); o.value = value; return o; }));
    if (values.includes(chosen)) select.value = chosen;
  }
}

function rowsTable(report) {
  const head = el("tr");
  head.append(el("th", report.by), ...COLUMNS.map(([, label]) => el("th", label)));
  $("kpi-rows").tHead.replaceChildren(head);
  const rows = [...report.rows, { key: "合计 total", ...report.totals }].map((row) => {
    const tr = el("tr", undefined, row.key === "合计 total" ? "total" : "");
    tr.dataset.key = row.key;
    tr.append(el("th", row.key), ...COLUMNS.map(([name, , kind]) => {
      const td = el("td", formatted(row[name], kind));
      td.dataset.column = name;
      return td;
    }));
    return tr;
  });
  $("kpi-rows").tBodies[0].replaceChildren(...rows);
}

function blocksTable(blocks) {
  const rows = Object.entries(blocks.by_rule).map(([rule, count]) => {
    const tr = el("tr");
    tr.dataset.rule = rule;
    tr.append(el("td", rule), el("td", String(count)));
    return tr;
  });
  $("kpi-rules").tBodies[0].replaceChildren(...rows);
  const speakers = blocks.by_speaker;
  $("kpi-block-speakers").textContent = `按说话方 by speaker：机器人 bot ${speakers.bot || 0} · 坐席 agent ${speakers.agent || 0}`;
}

function rollTable(roll) {
  const head = el("tr");
  head.append(el("th", "起始 \\ 结束"), ...roll.targets.map((t) => el("th", BUCKETS[t] || t)), el("th", "迁徙率 roll rate"));
  $("kpi-roll").tHead.replaceChildren(head);
  const rows = roll.buckets.map((bucket, index) => {
    const tr = el("tr");
    tr.dataset.bucket = bucket;
    const next = roll.buckets[index + 1];
    tr.append(el("th", BUCKETS[bucket]), ...roll.targets.map((t) => el("td", String(roll.matrix[bucket][t]))),
              el("td", next ? percent(roll.rates[`${bucket}->${next}`]) : DASH, "roll-rate"));
    return tr;
  });
  $("kpi-roll").tBodies[0].replaceChildren(...rows);
}

function draw(id, config) {
  if (charts[id]) charts[id].destroy();
  if (typeof Chart === "undefined") return; // the bundle is not installed (scripts/setup.sh): the tables still show
  config.options = { animation: false, responsive: true, maintainAspectRatio: false, ...(config.options || {}) };
  charts[id] = new Chart($(id), config);
}

function drawCharts(report) {
  const labels = report.rows.map((row) => row.key);
  const series = (name) => report.rows.map((row) => row[name]);
  draw("chart-activity", { type: report.by === "day" ? "line" : "bar", data: { labels, datasets: [
    { label: "外呼 calls", data: series("calls_placed") }, { label: "接通 answered", data: series("calls_answered") },
    { label: "对话 conversations", data: series("conversations") }, { label: "承诺 promises", data: series("promises") },
  ] } });
  draw("chart-money", { type: "bar", data: { labels, datasets: [
    { label: "承诺 promised ¥", data: series("promised_cents").map((c) => c / 100) },
    { label: "回收 recovered ¥", data: series("recovered_cents").map((c) => c / 100) },
  ] } });
  draw("chart-blocks", { type: "bar", options: { indexAxis: "y" }, data: {
    labels: Object.keys(report.blocks.by_rule),
    datasets: [{ label: "拦截 blocks", data: Object.values(report.blocks.by_rule) }] } });
  const roll = report.roll_rates;
  draw("chart-roll", { type: "bar", data: {
    labels: Object.keys(roll.rates).map((key) => key.split("->").map((b) => BUCKETS[b]).join(" → ")),
    datasets: [{ label: "迁徙率 % roll rate", data: Object.values(roll.rates).map((r) => (r === null ? null : r * 100)) }] } });
}

async function load() {
  $("kpi-error").textContent = "";
  const query = params();
  $("kpi-csv").href = `/api/console/kpis.csv?${query}`;
  const response = await fetch(`/api/console/kpis?${query}`, { credentials: "same-origin" });
  if (response.status === 401) { window.location.href = "/console"; return; }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    $("kpi-error").textContent = `无法计算：${data.detail || response.status}`;
    return;
  }
  $("kpi-start").value = data.start;
  $("kpi-end").value = data.end;
  $("kpi-csv").href = `/api/console/kpis.csv?${params()}`;
  $("kpi-range").textContent = `${data.start} 至 ${data.end}（${data.zone}）`;
  fillFilters(data.options);
  $("kpi-cards").replaceChildren(...CARDS.map((spec) => card(spec, data.totals)));
  rowsTable(data);
  blocksTable(data.blocks);
  rollTable(data.roll_rates);
  drawCharts(data);
  document.body.dataset.loaded = `${data.start}/${data.end}/${data.by}/${new URLSearchParams(data.filters)}`;
}

async function start() {
  const me = await fetch("/api/console/me", { credentials: "same-origin" });
  if (!me.ok) { window.location.href = "/console"; return; }
  const who = await me.json();
  $("who").textContent = `${who.name}（主管）`;
  $("kpi-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
}

start();
