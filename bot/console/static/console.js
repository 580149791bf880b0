// Agent console: plain JS over /api/console (cookie session). Short polling keeps the queue and the open
// conversation fresh on any gateway replica. Every value is written with textContent, never as HTML.
"use strict";

const POLL_MS = 1500;
const DRAFT_CHECK_DELAY_MS = 350; // after the agent pauses typing
const REASONS = {
  distress: "危机/困境", dispute: "异议", compliance_blocked: "合规拦截", requested: "要求人工",
  legal_stage: "法诉阶段", nlu_fallback: "多次未理解", large_balance: "大额欠款",
};
// Requests an unverified party made (ledger review_requests): applied only when a person decides they were the borrower's.
const REVIEW_KINDS = { distress: "危机/困境（未核实）", do_not_contact: "要求停止联系（未核实）", dispute: "异议（未核实）",
                       wrong_number: "称打错了人（未核实）" };
const SPEAKERS = { borrower: "借款人", bot: "智能助手", agent: "人工专员" };
// compliance_filters/rules.yml categories, as the agent reads them
const CATEGORIES = {
  violence: "暴力威胁", third_party_disclosure: "向第三方披露", impersonation: "冒充公检法或他人",
  false_legal_consequences: "虚假法律后果", insult: "侮辱", harassment: "骚扰", public_shaming: "公开羞辱",
  inducing_borrowing: "诱导借贷", privacy_intimidation: "以隐私相威胁", disclosure_before_verification: "核实身份前披露欠款",
};
const state = { me: null, current: null, timer: null, draftTimer: null, draftSeq: 0 };

function showLogin() {
  state.me = null;
  clearInterval(state.timer);
  $("login-view").hidden = false;
  $("work-view").hidden = true;
  $("logout").hidden = true;
  $("kpis-link").hidden = true;
  $("who").textContent = "";
}

function showWork(me) {
  // Reviewers take no conversations (the handoff API refuses them): their desk is the quality review page.
  if (me.role === "reviewer") {
    location.assign("/console/review");
    return;
  }
  state.me = me;
  $("login-view").hidden = true;
  $("work-view").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${me.name}（${me.role === "supervisor" ? "主管" : "坐席"}）`;
  $("supervisor").hidden = me.role !== "supervisor";
  $("campaigns-view").hidden = me.role !== "supervisor";
  $("kpis-link").hidden = me.role !== "supervisor";
  clearInterval(state.timer);
  refresh();
  state.timer = setInterval(refresh, POLL_MS);
}

function minutes(seconds) {
  return seconds < 60 ? `${seconds}秒` : `${Math.floor(seconds / 60)}分钟`;
}

function queueItem(entry) {
  const item = el("li", `${REASONS[entry.reason] || entry.reason} · ${entry.borrower} · ${entry.channel} · 已等${minutes(entry.waited_seconds)}`
    + (entry.transferred ? " · 电话已转接坐席" : "") + (entry.callback_offered ? " · 已约回电" : ""), `p${entry.priority}`);
  item.dataset.conversation = entry.conversation_id;
  item.addEventListener("click", () => openConversation(entry.conversation_id));
  return item;
}

async function refresh() {
  const queue = await api("GET", "/api/console/queue");
  if (!queue.ok) return;
  $("queue").replaceChildren(...queue.data.queue.map(queueItem));
  $("queue-count").textContent = `(${queue.data.queue.length})`;
  $("mine").replaceChildren(...queue.data.mine.map((id) => {
    const item = el("li", id.slice(0, 12));
    item.addEventListener("click", () => openConversation(id));
    return item;
  }));
  if (state.me && state.me.role === "supervisor") {
    const live = await api("GET", "/api/console/live");
    if (live.ok) {
      $("live").replaceChildren(...live.data.held.map((held) => {
        const item = el("li", `${held.conversation_id.slice(0, 12)} · ${held.agent}`);
        item.addEventListener("click", () => openConversation(held.conversation_id));
        return item;
      }));
    }
    const reviews = await api("GET", "/api/console/review-requests");
    if (reviews.ok) $("pending-reviews").replaceChildren(...reviews.data.review_requests.map(reviewItem));
    const campaigns = await api("GET", "/api/console/campaigns");
    if (campaigns.ok) $("campaigns").tBodies[0].replaceChildren(...campaigns.data.campaigns.map(campaignRow));
  }
  if (state.current) await loadConversation();
}

function campaignRow(campaign) {
  const row = el("tr", undefined, campaign.status);
  const refused = Object.entries(campaign.refused).map(([reason, count]) => `${reason} ${count}`).join("，") || "—";
  const cells = [campaign.description || campaign.name, campaign.status === "paused" ? "已暂停" : "进行中",
    campaign.borrowers, campaign.due, campaign.planned, campaign.attempted, campaign.reached, campaign.promised, refused];
  for (const value of cells) row.append(el("td", String(value)));
  const toggle = el("button", campaign.status === "paused" ? "恢复" : "暂停");
  toggle.dataset.campaign = campaign.name;
  toggle.addEventListener("click", async () => {
    await api("POST", `/api/console/campaigns/${encodeURIComponent(campaign.name)}/${campaign.status === "paused" ? "resume" : "pause"}`);
    await refresh();
  });
  const action = el("td");
  action.append(toggle);
  row.append(action);
  return row;
}

function historyList(title, entries, line) {
  const box = el("div");
  box.append(el("h3", title));
  const list = el("ol");
  list.replaceChildren(...entries.map((entry) => el("li", line(entry))));
  if (!entries.length) list.append(el("li", "（无）"));
  box.append(list);
  return box;
}

$("history-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = await api("GET", `/api/console/borrowers/${encodeURIComponent($("history-borrower").value.trim())}/contacts`);
  if (!result.ok) { $("history").replaceChildren(el("p", `未找到：${result.data.detail}`, "error")); return; }
  const data = result.data;
  $("history").replaceChildren(
    historyList("分层变更", data.segments, (s) => `${s.at} · ${s.previous || "—"} → ${s.segment} · ${s.reason}`),
    historyList("活动联系", data.contacts, (c) => `${c.planned_at} · ${c.campaign} · ${c.channel} · ${c.status}${c.reason ? `（${c.reason}）` : ""}`),
    historyList("联系规则判定", data.policy_decisions, (d) => `${d.at} · ${d.channel} · ${d.outcome} · ${d.reason}`),
    historyList("争议与困难申请", data.claims, (c) => `#${c.claim_id} · ${c.kind} · ${c.account_id || "全部账户"} · ${c.created_at} · `
      + (c.status === "open" ? "未结" : `${c.outcome}（${c.resolved_by}）`)),
  );
});

async function openConversation(id) {
  state.current = id;
  $("blocked").textContent = "";
  $("quick-result").textContent = "";
  await loadConversation();
}

async function loadConversation() {
  const id = state.current;
  const result = await api("GET", `/api/console/conversations/${encodeURIComponent(id)}`);
  if (!result.ok) {
    if (result.status === 403 || result.status === 404) { state.current = null; $("conversation").hidden = true; }
    return;
  }
  const conv = result.data;
  $("conversation").hidden = false;
  $("conv-id").textContent = id.slice(0, 12);
  const mine = conv.holder === state.me.name;
  $("conv-holder").textContent = conv.holder ? `接待坐席：${conv.holder}` : "等待接入";
  $("take").hidden = Boolean(conv.holder);
  $("hand-back").hidden = !(mine || (conv.holder && state.me.role === "supervisor"));
  for (const control of ["message", "send"]) $(control).disabled = !mine;
  for (const form of ["promise-form", "plan-form"]) {
    for (const control of $(form).elements) control.disabled = !mine || !conv.identity_verified;
  }
  $("summary").textContent = conv.summary;
  renderTranscript(conv.transcript);
  renderAccount(conv.account);
  $("recording-section").hidden = !conv.recording;  // supervisors, once the call is over
  showRecording($("recording"), conv.recording, "");
  $("review-requests").replaceChildren(...(conv.review_requests.length ? conv.review_requests.map(reviewItem) : [el("li", "无")]));
}

function reviewItem(request) {
  const item = el("li", `${REVIEW_KINDS[request.kind] || request.kind} · ${request.borrower || "未知编号"} · ${request.channel}`
    + (request.said ? ` · “${request.said}”` : "") + (request.status === "pending" ? "" : ` · ${request.status}（${request.reviewed_by}）`));
  item.dataset.request = request.request_id;
  if (request.status === "pending") {
    for (const [decision, label] of [["apply", "确认是本人，执行"], ["dismiss", "不予执行"]]) {
      const button = el("button", label, `review-${decision}`);
      button.addEventListener("click", async () => {
        const result = await api("POST", `/api/console/review-requests/${request.request_id}/${decision}`);
        $("quick-result").textContent = result.ok ? `请求已${decision === "apply" ? "执行" : "关闭"}` : `未成功：${result.data.error || result.data.detail}`;
        await refresh();
      });
      item.append(button);
    }
  }
  return item;
}

function renderTranscript(entries) {
  const list = $("transcript");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 10;
  list.replaceChildren(...entries.map((entry) => {
    const item = el("li", undefined, entry.speaker + (entry.distress ? " distress" : ""));
    item.append(el("span", SPEAKERS[entry.speaker] || entry.speaker, "who"), el("span", entry.text));
    return item;
  }));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function renderAccount(account) {
  const rows = [];
  if (!account) rows.push(["借款人", "台账中无此借款人"]);
  else {
    rows.push(["借款人", `${account.name}（${account.borrower}）`], ["证件号", account.id_number]);
    if (account.account) {
      rows.push(["机构", account.account.lender], ["欠款余额", account.account.balance],
        ["逾期天数", `${account.account.days_past_due}天`], ["风险等级", account.account.risk_tier]);
    }
    rows.push(["还款承诺", account.promises.map((p) => `${p.date} ${p.amount}（${p.status}）`).join("；") || "无"]);
    rows.push(["分期方案", account.plans.map((p) => `${p.periods}期 ${p.total}（${p.status}）`).join("；") || "无"]);
    rows.push(["申请/异议", account.claims.map((c) => `${c.kind}（${c.status}）`).join("；") || "无"]);
    rows.push(["标记", account.flags.join("、") || "无"]);
    if (account.do_not_contact) rows.push(["联系限制", "已要求停止联系"]);
  }
  $("account").replaceChildren(...rows.flatMap(([term, value]) => [el("dt", term), el("dd", value)]));
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = await api("POST", "/api/console/login", { name: $("login-name").value, password: $("login-password").value });
  $("login-password").value = "";
  if (!result.ok) { $("login-error").textContent = "账号或密码错误"; return; }
  $("login-error").textContent = "";
  showWork(result.data);
});

$("logout").addEventListener("click", async () => { await api("POST", "/api/console/logout"); showLogin(); });

$("take").addEventListener("click", async () => {
  const result = await api("POST", `/api/console/conversations/${encodeURIComponent(state.current)}/take`);
  if (!result.ok) $("blocked").textContent = result.data.error === "already_taken" ? `已被 ${result.data.holder} 接入` : "无法接入";
  await refresh();
});

$("hand-back").addEventListener("click", async () => {
  await api("POST", `/api/console/conversations/${encodeURIComponent(state.current)}/hand-back`);
  await refresh();
});

$("send-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text) return;
  const result = await api("POST", `/api/console/conversations/${encodeURIComponent(state.current)}/messages`, { text });
  if (result.ok) {
    $("message").value = "";
    $("blocked").textContent = "";
    renderDraftAdvice(null);
  } else if (result.data.error === "blocked") {
    const reasons = result.data.categories.map((category) => CATEGORIES[category] || category).join("、");
    $("blocked").textContent = `消息未发送：合规检查拦截（${reasons}；规则 ${result.data.rules.join("、")}）。请修改后重新发送。`;
  } else {
    $("blocked").textContent = `消息未发送：${result.data.error || result.data.detail || result.status}`;
  }
  await loadConversation();
});

// Draft check: while the agent types, the draft goes through the same compliance check as a sent
// message; a problem is shown with its rule and a lawful wording the agent can take with one click.
function renderDraftAdvice(result) {
  const box = $("draft-advice");
  box.replaceChildren();
  if (!result || result.allowed) { box.hidden = true; return; }
  box.appendChild(el("strong", "此消息不会被发送：违反合规规则"));
  for (const finding of result.findings) {
    const item = el("div", undefined, "finding");
    item.appendChild(el("p", `${CATEGORIES[finding.category] || finding.category}：${finding.why}`));
    item.appendChild(el("p", `规则 ${finding.rules.map((rule) => `${rule.id}（${rule.description}）`).join("、")}`, "rules"));
    const suggestion = el("p", `建议改为：${finding.suggestion}`, "suggestion");
    const use = el("button", "使用建议措辞");
    use.type = "button";
    use.className = "use-suggestion";
    use.addEventListener("click", () => { $("message").value = finding.suggestion; checkDraftSoon(); });
    suggestion.appendChild(use);
    item.appendChild(suggestion);
    box.appendChild(item);
  }
  box.hidden = false;
}

async function checkDraft() {
  const text = $("message").value.trim();
  const seq = ++state.draftSeq;
  if (!text) { renderDraftAdvice(null); return; }
  const result = await api("POST", "/api/console/draft-check", { text });
  if (seq !== state.draftSeq) return; // the agent kept typing; a newer check is on its way
  renderDraftAdvice(result.ok ? result.data : null);
}

function checkDraftSoon() {
  clearTimeout(state.draftTimer);
  state.draftTimer = setTimeout(checkDraft, DRAFT_CHECK_DELAY_MS);
}

$("message").addEventListener("input", checkDraftSoon);

async function quickAction(path, body) {
  const result = await api("POST", `/api/console/conversations/${encodeURIComponent(state.current)}/${path}`, body);
  $("quick-result").textContent = result.ok ? `已记录并告知借款人：${result.data.text}` : `未成功：${result.data.error || result.data.detail}`;
  await loadConversation();
}

$("promise-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const cents = Math.round(Number($("promise-amount").value) * 100);
  quickAction("promise", { amount_cents: cents, promised_date: $("promise-date").value });
});

$("plan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  quickAction("plan", { periods: Number($("plan-periods").value) });
});

api("GET", "/api/console/me").then((result) => { if (result.ok) showWork(result.data); else showLogin(); });
