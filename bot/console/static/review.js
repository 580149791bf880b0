// Quality review (质检): plain JS over /api/console/review (cookie session, as the agent console). Every value is
// written with textContent, never as HTML.
"use strict";

const RULES = {
  compliance_block: "合规拦截", distress: "危机/困境", dispute: "异议", complaint: "投诉/要求停止联系",
  verification_lockout: "身份核实锁定", not_understood: "多次未理解", sample_agent: "按坐席抽样", sample_script: "按话术抽样",
};
const CHECKLIST = [
  ["identity_before_detail", "透露任何账户信息前已核实身份"], ["ai_disclosed", "告知对方是AI"],
  ["no_pressure", "无施压、威胁或羞辱"], ["correct_figures", "金额与日期正确"], ["handoff_when_asked", "要求人工时及时转接"],
];
const MARKS = [["pass", "通过"], ["fail", "不通过"], ["na", "不适用"]];
const SPEAKERS = { borrower: "借款人", bot: "智能助手", agent: "人工专员" };
const state = { me: null, current: null };
const when = (iso) => new Date(iso).toLocaleString("zh-CN", { hour12: false }); // the reviewer's own time zone

function showLogin() {
  state.me = null;
  $("login-view").hidden = false;
  $("work-view").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
}

function showWork(me) {
  state.me = me;
  $("login-view").hidden = true;
  $("work-view").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${me.name}（${me.role === "supervisor" ? "主管" : "质检员"}）`;
  const now = new Date(); // review days are the office's (Asia/Shanghai): the reviewer's own local day
  const today = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
  $("fill-first").value = $("fill-first").value || today;
  $("fill-last").value = $("fill-last").value || today;
  loadItems();
}

async function loadItems() {
  const { ok, status, data } = await api("GET", `/api/console/review/items?status=${$("status").value}`);
  const list = $("items");
  list.replaceChildren();
  if (!ok) {
    list.append(el("li", status === 403 ? "此账号无质检权限" : "队列暂不可用", "error"));
    return;
  }
  $("queue-count").textContent = `(${data.items.length})`;
  for (const item of data.items) {
    const li = el("li", `${item.day} · ${item.channel} · ${item.agent} · ${item.reasons.map((r) => RULES[r.rule] || r.rule).join("、")}`,
                  item.review ? "reviewed" : "");
    li.dataset.itemId = item.item_id;
    if (state.current === item.item_id) li.classList.add("selected");
    li.addEventListener("click", () => openItem(item.item_id));
    list.append(li);
  }
}

function renderChecklist(review) {
  const body = $("checklist").tBodies[0];
  body.replaceChildren();
  for (const [key, label] of CHECKLIST) {
    const row = document.createElement("tr");
    row.append(el("td", label));
    const cell = document.createElement("td");
    for (const [mark, markLabel] of MARKS) {
      const wrap = el("label");
      const input = document.createElement("input");
      Object.assign(input, { type: "radio", name: key, value: mark, required: true, disabled: Boolean(review) });
      input.checked = Boolean(review) && review.marks[key] === mark;
      wrap.append(input, document.createTextNode(markLabel));
      cell.append(wrap);
    }
    row.append(cell);
    body.append(row);
  }
  $("notes").value = review ? review.notes : "";
  $("notes").disabled = $("save-review").disabled = Boolean(review);
  $("review-result").textContent = review ? `已由 ${review.reviewer} 于 ${when(review.reviewed_at)} 评分` : "";
}

async function openItem(itemId) {
  const { ok, data } = await api("GET", `/api/console/review/items/${itemId}`);
  if (!ok) return;
  state.current = itemId;
  $("item").hidden = false;
  $("item-conv").textContent = data.conversation_id;
  $("item-meta").textContent = `${data.day} · ${data.channel} · 坐席 ${data.agent} · 话术 ${data.script}` +
    (data.sample_seed ? ` · 抽样率 ${data.sample_rate}（种子 ${data.sample_seed}）` : "");
  const reasons = $("reasons");
  reasons.replaceChildren(...data.reasons.map((r) => el("li", `${RULES[r.rule] || r.rule}：${r.detail}`)));
  $("summary").textContent = data.summary || "（没有可用的摘要）";
  const transcript = $("transcript");
  transcript.replaceChildren();
  for (const line of data.transcript) {
    const li = el("li", undefined, line.speaker + (line.allowed === false ? " blocked" : ""));
    li.append(el("span", `${SPEAKERS[line.speaker] || line.speaker} · ${when(line.at)}`, "who"));
    li.append(document.createTextNode(line.text));
    if (line.allowed === false) li.append(el("span", `被合规拦截，未发送：${line.rules.join("、")}`, "rules"));
    transcript.append(li);
  }
  showRecording($("recording"), data.recording, "本对话没有录音（只有语音通话录音）。");
  const account = $("account");
  account.replaceChildren();
  if (data.account) account.append(el("dt", "借款人"), el("dd", data.account.name));
  for (const a of data.accounts) {
    account.append(el("dt", `${a.lender}（${a.status}）`), el("dd", `欠款 ${a.balance}，逾期 ${a.days_past_due} 天`));
  }
  renderChecklist(data.review);
  $("views").replaceChildren(...data.views.map((v) => el("li", `${v.viewer} · ${when(v.at)}`)));
  loadItems();
}

$("review-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const marks = {};
  for (const [key] of CHECKLIST) marks[key] = document.querySelector(`input[name="${key}"]:checked`).value;
  const { ok, status, data } = await api("POST", `/api/console/review/items/${state.current}/review`,
                                         { marks, notes: $("notes").value });
  if (ok) {
    openItem(state.current);
  } else if (status === 409) {
    $("review-result").textContent = `已由 ${data.reviewer} 评分，未保存本次评分`;
  } else {
    $("review-result").textContent = data.detail && typeof data.detail === "string" ? data.detail : "评分未保存";
  }
});

$("fill-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { ok, data } = await api("POST", "/api/console/review/fill",
                                 { first_day: $("fill-first").value, last_day: $("fill-last").value });
  $("fill-result").textContent = ok ? `新增 ${data.added} 条` : (data.detail && typeof data.detail === "string" ? data.detail : "未能选取");
  loadItems();
});

$("status").addEventListener("change", loadItems);

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { ok, status, data } = await api("POST", "/api/console/login",
                                         { name: $("login-name").value, password: $("login-password").value });
  if (!ok) {
    $("login-error").textContent = status === 429 ? "尝试次数过多，请稍后再试" : "账号或密码错误";
    return;
  }
  $("login-password").value = "";
  showWork(data);
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/console/logout");
  showLogin();
});

(async () => {
  const { ok, data } = await api("GET", "/api/console/me");
  if (ok) showWork(data); else showLogin();
})();
