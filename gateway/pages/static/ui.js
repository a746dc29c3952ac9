// Shared by every page after _common_js.html (token, api(), el(), labels): the navigation by
// role, formatting, tables with their export, forms with errors shown beside each field in
// Chinese, the workbench's tiles and trends. Nothing here is loaded from elsewhere.
"use strict";

// ---- vocabularies ------------------------------------------------------------------
const LABELS = {
  role: ROLE_LABELS,
  station: STATUS_LABELS,
  hours: { recorded: "待审核", approved: "已通过", rejected: "已驳回" },
  entryKind: { record: "记录", correction: "更正" },
  teamKind: { general: "综合", silver_age: "银龄", party_member: "党员", youth: "青年", women: "巾帼", professional: "专业" },
  category: { elderly: "为老服务", children: "儿童关爱", disabled: "助残服务", poverty_relief: "帮困救助",
    community_governance: "社区治理", environment: "生态环保", culture_education: "文化教育", health: "医疗卫生",
    emergency: "应急救援", legal_aid: "法律援助", other: "其他" },
  availability: { weekday_morning: "工作日上午", weekday_afternoon: "工作日下午", weekday_evening: "工作日晚上",
    weekend_morning: "周末上午", weekend_afternoon: "周末下午", weekend_evening: "周末晚上", holidays: "节假日" },
  fundKind: { community_fund: "社区慈善基金", special_fund: "专项基金" },
  fund: { open: "正常", frozen: "已冻结", closed: "已关闭" },
  donationKind: { money: "货币", in_kind: "实物" },
  donation: { received: "已入账", reversed: "已冲销" },
  channel: { bank_transfer: "银行转账", cash: "现金", online: "网络支付" },
  donorKind: { person: "个人", organisation: "单位", anonymous: "匿名" },
  basis: { invoice: "发票", market_price: "市场价格", appraisal: "评估", donor_declared: "捐赠人声明" },
  disbursement: { requested: "待审批", approved: "已批准", paid: "已支付", rejected: "已驳回", cancelled: "已撤回" },
  disbursementCategory: { direct_aid: "直接救助", activity: "活动经费", project_grant: "创投项目", service_contract: "购买服务" },
  payeeKind: { person: "个人", organisation: "单位" },
  receipt: { valid: "有效", voided: "已作废" },
  report: { draft: "未填报", submitted: "已报送", returned: "已退回", overdue: "逾期未报" },
  rect: { open: "待整改", in_progress: "整改中", submitted: "已提交", reopened: "已退回", closed: "已销号" },
  severity: { minor: "一般", major: "较重", critical: "严重" },
  inspectionKind: { mutual: "督导互查", daily: "日常监测", special: "专项检查", assessment: "定期评估",
    third_party: "第三方评估", year_end: "年底考核" },
  inspection: { planned: "待检查", in_progress: "检查中", completed: "已完成" },
  calendar: { monthly_report: "月报", quarterly_supervision: "季度督导", inspection: "检查", rectification: "整改期限",
    year_end_assessment: "年底考核" },
  calendarState: { done: "已完成", pending: "待办", overdue: "已逾期" },
  level: { province: "省", city: "市", county: "县（区）", township: "乡镇（街道）", station: "社工站", team: "服务队", volunteer: "志愿者" },
  sessionKind: { individual: "个别督导", group: "团体督导" },
  sessionSetting: { internal: "内部督导", external: "外部督导" },
  sessionMethod: { on_site: "现场", online: "线上" },
  ruleKind: { points: "计分", pass_fail: "达标/不达标", scale: "等级" },
};
const FIGURE_LABELS = {
  overall: "综合得分", supervision: "督导覆盖率", inspection: "检查得分率", reports: "月报按时率",
  rectification: "整改按期率", liuyou: "六有达标率", staffing: "1+1+X 达标率", operating: "运营站点数",
  sessions_quarter: "本季督导次数", volunteer_minutes: "志愿服务时长", volunteers_active: "活跃志愿者",
  raised_fen: "募集善款", spent_fen: "善款支出", rect_open: "未销号整改", rect_overdue: "逾期整改",
};

function label(map, value) { return (LABELS[map] || {})[value] || (value === null || value === undefined || value === "" ? "—" : value); }
function tag(map, value, cls) { return el("span", { class: "badge " + (cls || value || "") }, label(map, value)); }

// ---- who is calling, what they may do ------------------------------------------------
const ROLE_LETTER = { province_admin: "P", city_officer: "C", county_officer: "K", station_staff: "S", auditor: "A" };
const OFFICERS_ONLY = ["province_admin", "city_officer", "county_officer"];
const WORKERS = OFFICERS_ONLY.concat(["station_staff"]);
// Mirrors the API's rules (gateway/routes/*.py): a control shows only to those the API lets act.
const ACTIONS = {
  "volunteer.register": WORKERS, "team.create": WORKERS, "activity.create": WORKERS, "hours.record": WORKERS,
  "hours.approve": WORKERS, "certificate.issue": WORKERS, "donation.record": WORKERS, "receipt.void": WORKERS,
  "disbursement.request": WORKERS, "disbursement.cancel": WORKERS, "disbursement.approve": OFFICERS_ONLY,
  "report.file": WORKERS, "report.return": OFFICERS_ONLY, "rect.work": WORKERS, "rect.verify": OFFICERS_ONLY,
  "inspection.create": OFFICERS_ONLY, "inspection.score": OFFICERS_ONLY,
};
function me() {
  const c = claims();
  if (!c || (c.exp && c.exp * 1000 < Date.now())) return null;
  return c;
}
function myRole() { const c = me(); return c ? c.role : null; }
function myRegion() { const c = me(); return c ? String(c.region || "") : ""; }
function can(action) { return (ACTIONS[action] || []).includes(myRole()); }
function isAuditor() { return myRole() === "auditor"; }

// Province, city or county for figures asked of a region: a station's staff see their county's
// list pages through their own township.
function areaRegion(region) { region = region || myRegion(); return region.length > 6 ? region.slice(0, 6) : region; }
function levelOf(code) { return { 2: "province", 4: "city", 6: "county", 9: "township" }[String(code || "").length] || "station"; }

(function navigation() {
  const letter = ROLE_LETTER[myRole()] || "";
  for (const item of document.querySelectorAll("#main-nav [data-roles]")) {
    const roles = item.getAttribute("data-roles");
    const max = Number(item.getAttribute("data-max-region") || 99);
    item.hidden = roles !== "" && !(letter && roles.includes(letter) && myRegion().length <= max);
  }
  const toggle = document.getElementById("menu-toggle"), nav = document.getElementById("main-nav");
  if (toggle) toggle.onclick = () => {
    const open = !nav.classList.contains("open");
    nav.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  const who = document.getElementById("who"), c = claims();
  if (who && c && document.body.dataset.page !== "signin") {
    const out = el("button", { type: "button", class: "secondary" }, "退出");
    out.onclick = async () => {
      try { if (c.sid) await api("/auth/sign-out", null, { method: "POST" }); } catch (e) { /* ended already */ }
      clearToken(); localStorage.removeItem(REFRESH_KEY); location.href = "/signin";
    };
    who.append(out);
  }
})();

// ---- formatting -------------------------------------------------------------------------
function pct(rate, digits) {
  if (rate === null || rate === undefined || rate === "") return "—";
  return (Number(rate) * 100).toFixed(digits === undefined ? 1 : digits) + "%";
}
// Integer fen -> "1,234.56" exactly (never through floating point).
function yuan(fen) {
  if (fen === null || fen === undefined || fen === "") return "—";
  const n = BigInt(fen), neg = n < 0n, abs = neg ? -n : n;
  const whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (neg ? "-" : "") + whole + "." + String(abs % 100n).padStart(2, "0");
}
function yuanShort(fen) {
  const v = Number(fen || 0) / 100;
  return Math.abs(v) >= 10000 ? (v / 10000).toFixed(2) + " 万元" : v.toFixed(2) + " 元";
}
// "1,234.5" or "1234.56" -> 123456 fen; null when not an amount of at most two decimals.
function toFen(text) {
  const t = String(text || "").replace(/[,，\s]/g, "");
  const m = /^(\d{1,11})(?:\.(\d{1,2}))?$/.exec(t);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
}
function hoursOf(minutes) { return minutes === null || minutes === undefined ? "—" : (Number(minutes) / 60).toFixed(1); }
function chinaTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
}
function chinaDate(iso) { return iso ? new Date(iso).toLocaleDateString("zh-CN", { timeZone: "Asia/Shanghai" }) : "—"; }
// Today in China as YYYY-MM-DD, this month as YYYY-MM.
function chinaToday() { return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); }
function thisMonth() { return chinaToday().slice(0, 7); }
function addMonths(month, n) {
  const [y, m] = month.split("-").map(Number);
  const d = new Date(Date.UTC(y, m - 1 + n, 1));
  return d.toISOString().slice(0, 7);
}
function lastDay(month) {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}
function monthLabel(month) { const [y, m] = month.split("-"); return y + "年" + Number(m) + "月"; }
// An API instant (UTC) as the value of a datetime-local control in China time, and back.
function toLocalInput(iso) { return iso ? new Date(Date.parse(iso) + 8 * 3600e3).toISOString().slice(0, 16) : ""; }
function fromLocalInput(value) { return value ? value + (value.length === 16 ? ":00" : "") + "+08:00" : null; }
// A key for a money command or an hour record, made once per form: a retry sends the same one.
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
}

// ---- errors in Chinese --------------------------------------------------------------------
const MESSAGE_ZH = [
  [/^Missing data for required field\.?$/, "此项必填"], [/^required$/, "此项必填"],
  [/^required unless .*$/, "此项必填"], [/^Field may not be null\.?$/, "此项不能为空"],
  [/^Not a valid integer\.?$|^not an integer$/, "请输入整数"], [/^Not a valid number\.?$|^not a number$/, "请输入数字"],
  [/^Not a valid string\.?$/, "请输入文字"], [/^Not a valid date\.?$/, "请输入有效日期"],
  [/^Not a valid (aware )?datetime\.?$/, "请输入有效的日期和时间"], [/^Not naive|^Not a valid aware/, "请输入有效的日期和时间"],
  [/^Not a valid boolean\.?$|^true or false$/, "请选择达标或不达标"], [/^Not a valid list\.?$/, "格式不正确"],
  [/^Unknown field\.?$/, "无法识别的字段"], [/^Must be one of: .*$/, "请从列表中选择"],
  [/^Length must be between (\d+) and (\d+)\.?$/, "长度应为 $1 至 $2 个字"],
  [/^Shorter than minimum length (\d+)\.?$/, "至少 $1 个字"], [/^Longer than maximum length (\d+)\.?$/, "最多 $1 个字"],
  [/^Must be greater than or equal to (\S+) and less than or equal to (\S+?)\.?$/, "应在 $1 至 $2 之间"],
  [/^Must be greater than or equal to (\S+?)\.?$/, "不能小于 $1"], [/^Must be less than or equal to (\S+?)\.?$/, "不能大于 $1"],
  [/^Must be greater than (\S+?)\.?$/, "应大于 $1"], [/^between 0 and (\S+)$/, "应在 0 至 $1 之间"],
  [/^a whole number from 0 to (\d+)$/, "应为 0 至 $1 的整数"], [/^not scored$/, "尚未评分"],
  [/^String does not match expected pattern\.?$/, "格式不正确"], [/^must be a phone number$/, "请输入正确的电话号码"],
  [/^must be 18 characters: 17 digits and a digit or X$/, "身份证号应为 18 位：17 位数字加 1 位数字或 X"],
  [/^characters 7-14 must be the birth date/, "身份证号第 7 至 14 位应为出生日期"],
  [/^check character does not match \(GB 11643/, "身份证号校验位不正确，请核对"],
  [/^check character does not match \(GB 32100/, "统一社会信用代码校验位不正确"],
  [/^must be an 18-character unified social credit code$/, "统一社会信用代码应为 18 位"],
  [/^must be an 18-character ID number$/, "身份证号应为 18 位"],
  [/^does not match the birth date in id_number \((.*)\)$/, "与身份证号中的出生日期（$1）不一致"],
  [/^give either station_id or county$/, "请选择登记的社工站或县（区）"],
  [/^must be after start(s_at)?$/, "结束时间应晚于开始时间"], [/^an activity lasts at most (\d+) days$/, "活动最长 $1 天"],
  [/^must not contain control characters$/, "不能包含控制字符"], [/^must not be blank$/, "不能只填空格"],
  [/^must lie in the years (\d+)-(\d+)$/, "年份应在 $1 至 $2 之间"], [/^in the future$/, "不能晚于今天"],
  [/^required for a donation in money$/, "货币捐赠必须填写"], [/^required for a donation in kind$/, "实物捐赠必须填写"],
  [/^only for a donation in kind$|^a donation in kind is valued by its items$/, "实物捐赠按物品价值计，不填金额"],
  [/^must be more than 0 .*$/, "数量应大于 0"], [/^at most 3 decimals$/, "最多 3 位小数"],
  [/^give notes or files as evidence$/, "请填写整改说明或佐证材料"],
  [/^must be a (division|province|county|township|6-digit|9-digit).*code.*$|^a province, city or county code$/, "区划代码格式不正确"],
  [/^outside your region$|^outside the fund's region$/, "超出您的辖区"], [/^must be a month YYYY-MM$|^not a month YYYY-MM$/, "请输入月份（年-月）"],
  [/^a third-party evaluation names its evaluator$/, "第三方评估须填写评估机构"], [/^give at least one of .*$/, "请至少填写一项"],
  [/^unknown station$/, "社工站不存在或尚未同步"], [/^not found$/, "未找到"], [/^not a registered volunteer$|^not registered$/, "该志愿者尚未实名注册"],
  [/^at capacity$/, "活动人数已满"], [/^already registered$/, "已经注册过"], [/^already filed$/, "本月月报已报送"],
  [/^you requested it; another officer approves$/, "本人提出的申请须由其他干部审批"], [/^more than is reserved$/, "超出已预留金额"],
  [/^station not (operating|built).*$/, "该社工站当时未在运营"], [/^you submitted this item$/, "提交人不能自行核销"],
  [/^required unless anonymous$/, "非匿名捐赠须填写"], [/^donor is anonymous$/, "匿名捐赠不填此项"],
  [/^must be a volunteer number .*$/, "志愿者编号格式不正确（V 加 14 位数字）"], [/^none in your region$/, "您的辖区内没有"],
  [/^must be a 12-digit .*$/, "应为 12 位代码"], [/^unknown code$/, "代码不存在"], [/^missing$/, "缺少此项"],
  [/^give this parameter once$/, "参数重复"], [/^before (from|period_from|call_from)$/, "不能早于开始日期"],
  [/^must not be before (from|period_from)$/, "不能早于开始日期"], [/^station is closed$/, "社工站已关闭"],
];
const CODE_ZH = {
  invalid_input: "提交的内容有误，请按提示修改。", invalid_json: "提交的内容格式不正确。", conflict: "操作未能完成：",
  insufficient_funds: "基金可用余额不足。", not_found: "未找到要操作的记录。", forbidden: "无权进行此操作：超出您的辖区或角色权限。",
  unauthorized: "请先登录。", expired: "服务处理超时，请重试。", payload_too_large: "文件过大。",
};
function zhMessage(text) {
  text = String(text || "").trim();
  if (/[\u4e00-\u9fff]/.test(text)) return text;
  for (const [pattern, zh] of MESSAGE_ZH) {
    const m = text.match(pattern);
    if (m) return zh.replace(/\$(\d)/g, (_, i) => m[Number(i)] || "");
  }
  return "填写有误（" + text + "）";
}
// A whole error in Chinese: what happened, and what the API said where it said more.
function describeError(err) {
  if (!err) return "";
  if (!(err instanceof ApiError)) return "网络或页面错误：" + (err.message || String(err)) + "。请刷新重试。";
  if (err.status === 401) return "登录已失效，请重新登录（/signin）。";
  if (err.status === 403) return CODE_ZH.forbidden;
  if (err.status === 404) return CODE_ZH.not_found;
  if (err.status === 429) return "操作过于频繁，请稍后再试。";
  if (err.status >= 500) return "服务暂时不可用（" + err.status + "），请稍后再试。";
  if (err.code === "insufficient_funds") {
    const a = err.details && err.details.available_fen;
    return CODE_ZH.insufficient_funds + (a !== undefined ? "当前可用 " + yuan(a) + " 元。" : "");
  }
  const base = CODE_ZH[err.code] || "操作未能完成：";
  if (err.code === "invalid_input") return base;
  return base + conflictText(err);
}
function conflictText(err) {
  const m = String(err.message || "");
  const d = err.details || {};
  const known = [
    [/already registered as (V\d{14})/, "该身份证号已注册，志愿者编号 $1。"],
    [/overlap/i, "与该志愿者已有的服务记录时间重叠。"], [/24 hours/, "该志愿者当天累计服务时长将超过 24 小时。"],
    [/outside the activity/i, "时间超出活动时段。"], [/full|capacity/i, "活动人数已满。"],
    [/not (a )?registered/i, "该志愿者尚未实名注册。"], [/requester|own request|another officer/i, "本人提出的申请须由其他干部审批。"],
    [/already filed|filed already|is changed only after/i, "该月月报已报送，退回后才能修改。"],
    [/frozen/i, "基金已冻结。"], [/Idempotency-Key/, "重复提交的内容不一致，请刷新后重填。"],
  ];
  for (const [p, zh] of known) { const hit = m.match(p); if (hit) return zh.replace("$1", hit[1] || ""); }
  if (d.volunteer_number) return "该身份证号已注册，志愿者编号 " + d.volunteer_number + "。";
  if (d.allowed) return "当前状态不允许此操作（可进行：" + [].concat(d.allowed).join("、") + "）。";
  return "（" + m + "）";
}
function flattenFields(fields, prefix, out) {
  out = out || {};
  for (const [k, v] of Object.entries(fields || {})) {
    const path = prefix ? prefix + "." + k : k;
    if (Array.isArray(v) && v.every(x => typeof x === "string")) out[path] = (out[path] || []).concat(v);
    else if (Array.isArray(v)) v.forEach((x, i) => typeof x === "string" ? (out[path] = (out[path] || []).concat([x])) : flattenFields(x, path + "." + i, out));
    else if (v && typeof v === "object") flattenFields(v, path, out);
    else out[path] = (out[path] || []).concat([String(v)]);
  }
  return out;
}
function clearErrors(form) {
  for (const n of form.querySelectorAll(".field-error, .form-error")) n.remove();
  for (const n of form.querySelectorAll("[aria-invalid]")) { n.removeAttribute("aria-invalid"); n.removeAttribute("aria-describedby"); }
}
// Each of the API's `fields` beside its control (matched by name="a.b.c", or the nearest
// enclosing name); the rest, and the error itself, at the top of the form.
function showErrors(form, err, fieldLabels) {
  clearErrors(form);
  const flat = flattenFields(err && err.fields);
  const unplaced = [];
  let first = null, n = 0;
  for (const [path, messages] of Object.entries(flat)) {
    if (path === "Idempotency-Key") continue;
    let control = null, probe = path;
    while (probe && !control) {
      control = form.querySelector('[name="' + CSS.escape(probe) + '"], [data-field="' + CSS.escape(probe) + '"]');
      probe = probe.includes(".") ? probe.slice(0, probe.lastIndexOf(".")) : "";
    }
    const text = messages.map(zhMessage).join("；");
    if (!control) { unplaced.push(((fieldLabels || {})[path] || path) + "：" + text); continue; }
    const id = "err-" + (++n) + "-" + path.replace(/[^A-Za-z0-9_-]/g, "_");
    const note = el("p", { class: "field-error", id: id }, text);
    const where = control.closest(".field") || control.closest("label") || control.closest("td");
    if (where) where.append(note); else control.after(note);
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", id);
    first = first || control;
  }
  const summary = el("div", { class: "error form-error", role: "alert" }, describeError(err),
    unplaced.length ? "\n" + unplaced.join("\n") : null);
  form.prepend(summary);
  (first || summary).focus && (first || summary).focus();
  if (!first) summary.scrollIntoView({ block: "nearest" });
}
// Values of a form's named controls as a nested object (name="donor.name"); data-type on a
// control: int, fen (yuan typed, fen sent), bool, list (one per line or comma), lines, date.
// Empty controls are left out, so the API's defaults apply.
function formData(form) {
  const out = {};
  const set = (path, value) => {
    const keys = path.split(".");
    let o = out;
    keys.slice(0, -1).forEach(k => { o = o[k] = o[k] || {}; });
    o[keys[keys.length - 1]] = value;
  };
  for (const c of form.querySelectorAll("[name]")) {
    if (c.disabled || c.closest("[hidden]") || c.type === "submit" || c.dataset.skip !== undefined) continue;
    const type = c.dataset.type || "";
    if (c.type === "checkbox" && c.dataset.group !== undefined) {
      const list = c.name in out ? out[c.name] : [];
      if (c.checked) list.push(c.value);
      set(c.name, list); continue;
    }
    if (c.type === "radio") { if (c.checked) set(c.name, c.value); continue; }
    if (c.type === "checkbox") { set(c.name, c.checked); continue; }
    const raw = c.value.trim();
    if (raw === "") continue;
    let value = raw;
    if (type === "int") value = /^-?\d+$/.test(raw) ? Number(raw) : raw;
    else if (type === "number") value = isNaN(Number(raw)) ? raw : Number(raw);
    else if (type === "fen") { const f = toFen(raw); value = f === null ? raw : f; }
    else if (type === "bool") value = raw === "true";
    else if (type === "list") value = raw.split(/[\n,，、;；]+/).map(s => s.trim()).filter(Boolean);
    else if (type === "datetime") value = fromLocalInput(raw);
    set(c.name, value);
  }
  return out;
}
// Wire a form: check amounts typed in yuan first (a field error without a round trip), then
// send(body) -> Promise; done(answer) on success. The submit button is off while it runs.
function onSubmit(form, send, done, opts) {
  opts = opts || {};
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const local = {};
    for (const c of form.querySelectorAll('[data-type="fen"]')) {
      if (c.value.trim() && toFen(c.value) === null && !c.closest("[hidden]")) local[c.name] = ["请输入金额（元），最多两位小数"];
    }
    if (Object.keys(local).length) {
      showErrors(form, new ApiError(400, { error: { code: "invalid_input", message: "", fields: local } }), opts.labels);
      return;
    }
    const buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach(b => { b.disabled = true; });
    const status = form.querySelector(".form-status");
    if (status) status.textContent = "提交中…";
    try {
      const answer = await send(formData(form), e.submitter);
      if (status) status.textContent = "";
      await done(answer);
    } catch (err) {
      if (status) status.textContent = "";
      showErrors(form, err, opts.labels);
    } finally { buttons.forEach(b => { b.disabled = false; }); }
  });
}
// A labelled control: field("姓名", input, {required, hint, wide}).
let _fieldCount = 0;
function field(text, control, opts) {
  opts = opts || {};
  const id = control.id || ("f-" + String(control.name || "x").replace(/[^A-Za-z0-9_-]/g, "-") + "-" + (++_fieldCount));
  control.id = id;
  if (opts.required) control.required = true;
  const hintId = opts.hint ? id + "-hint" : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return el("div", { class: "field" + (opts.wide ? " wide" : "") },
    el("label", { for: id, class: "label" + (opts.required ? " req" : "") }, text), control,
    opts.hint ? el("span", { class: "hint", id: hintId }, opts.hint) : null);
}
function input(name, attrs) { return el("input", Object.assign({ name: name, type: "text" }, attrs || {})); }
function select(name, options, attrs) {
  // options: [[value, text], ...] or {value: text}
  const pairs = Array.isArray(options) ? options : Object.entries(options);
  return el("select", Object.assign({ name: name }, attrs || {}), pairs.map(([v, t]) => el("option", { value: v }, t)));
}
function textarea(name, attrs) { return el("textarea", Object.assign({ name: name }, attrs || {})); }
function checkGroup(name, legend, options, checked) {
  checked = checked || [];
  return el("fieldset", { "data-field": name }, el("legend", {}, legend),
    Object.entries(options).map(([v, t]) => el("label", {},
      el("input", { type: "checkbox", name: name, value: v, "data-group": "", checked: checked.includes(v) }), t)));
}
function notice(text, ...more) { return el("div", { class: "notice", role: "status" }, text, ...more); }

// ---- tables and their export ---------------------------------------------------------------
// columns: [{title, value(row) -> text/number for CSV, cell(row) -> node (default: value), num}];
// opts: {csv: basename} for a CSV made in the page, {api: [path, params, basename]} for the API's
// export (Excel and CSV); either puts the export buttons above the table.
function table(columns, rows, empty, opts) {
  opts = opts || {};
  const grid = el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, columns.map(c => el("th", { class: c.num ? "num" : null, scope: "col" }, c.title)))),
    el("tbody", {}, rows.length ? rows.map(r => el("tr", (columns.rowAttrs && columns.rowAttrs(r)) || {}, columns.map(c =>
      el("td", { class: c.num ? "num" : null }, c.cell ? c.cell(r) : fmt(c.value(r))))))
      : el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, empty || "暂无数据")))));
  if (!opts.csv && !opts.api) return grid;
  const exportable = columns.filter(c => typeof c.title === "string" && c.title);
  return el("div", {}, el("div", { class: "toolbar" }, el("span", { class: "grow" }),
    opts.api ? exportButtons(...opts.api) : csvButton(opts.csv, exportable, rows)), grid);
}
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}
// An export endpoint of the API, fetched with the token (a plain link would carry none).
async function downloadExport(path, params, basename, retried) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const response = await fetch(url, { headers: { Authorization: "Bearer " + getToken() } });
  if (response.status === 401 && !retried && await refreshTokens()) return downloadExport(path, params, basename, true);
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const disposition = response.headers.get("Content-Disposition") || "";
  const m = /filename\*=UTF-8''([^;]+)/.exec(disposition) || /filename="([^"]+)"/.exec(disposition);
  const name = m ? decodeURIComponent(m[1]) : basename + "." + (params.format || "csv");
  saveBlob(await response.blob(), name);
  return name;
}
// Buttons "导出 Excel" and "导出 CSV" for an export endpoint.
function exportButtons(path, params, basename, what) {
  const box = el("span", { class: "export no-print" });
  const status = el("span", { class: "muted", role: "status" });
  for (const [format, text] of [["xlsx", "导出" + (what || "") + " Excel"], ["csv", "导出" + (what || "") + " CSV"]]) {
    const b = el("button", { type: "button", class: "secondary", "data-export": path, "data-format": format }, text);
    b.onclick = async () => {
      b.disabled = true; status.textContent = "正在导出…";
      try { status.textContent = "已下载 " + await downloadExport(path, Object.assign({}, params, { format }), basename); }
      catch (err) { status.textContent = describeError(err); }
      finally { b.disabled = false; }
    };
    box.append(b, " ");
  }
  box.append(status);
  return box;
}
// Where the API has no export: a CSV made in the page (UTF-8 with BOM, opens in Excel).
function csvButton(basename, columns, rows) {
  const b = el("button", { type: "button", class: "secondary no-print", "data-export": "csv-local" }, "导出 CSV");
  b.onclick = () => {
    const cell = v => {
      let s = v === null || v === undefined ? "" : String(v);
      if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
      return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    };
    const lines = [columns.map(c => cell(c.title)).join(",")].concat(
      rows.map(r => columns.map(c => cell(c.value ? c.value(r) : "")).join(",")));
    saveBlob(new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" }),
      basename + "-" + chinaToday() + ".csv");
  };
  return b;
}
function printButton(text) {
  const b = el("button", { type: "button", class: "no-print" }, text || "打印");
  b.onclick = () => window.print();
  return b;
}
function section(title, ...body) { return el("section", { class: "card" }, el("h2", {}, title), ...body); }
function loading() { return el("p", { class: "muted", role: "status" }, "加载中…"); }
function failed(err) { return el("div", { class: "error", role: "alert" }, describeError(err)); }
// Fill a box from an async builder; an error shows in the box (so one part failing leaves the rest).
async function fill(box, build) {
  if (typeof box === "string") box = document.getElementById(box);
  box.replaceChildren(loading());
  try { box.replaceChildren(...[].concat(await build()).filter(Boolean)); }
  catch (err) { box.replaceChildren(failed(err)); }
}

// ---- regions and stations ----------------------------------------------------------------------
const _names = {};
async function regionName(code) {
  if (!code) return "";
  if (_names[code]) return _names[code];
  try { _names[code] = (await api("/divisions/" + code)).name; } catch (e) { _names[code] = code; }
  return _names[code];
}
// Where a region leads: province, city and county to their workbench; a township to its station.
function drillHref(code) { return String(code).length <= 6 ? "/ui/home?region=" + code : "/ui/stations?region=" + code; }
async function goToTownship(code) {
  try {
    const found = await api("/stations", { region: code, per_page: 5 });
    location.href = found.items.length === 1 ? "/ui/stations/" + encodeURIComponent(found.items[0].id) : "/ui/stations?region=" + code;
  } catch (e) { location.href = "/ui/stations?region=" + code; }
}
function stationLink(id, name) { return el("a", { href: "/ui/stations/" + encodeURIComponent(id), "data-station": id }, name || id); }
// The stations a caller may pick (a station's staff: theirs), for a form's select.
async function stationOptions(region, statuses) {
  const found = await api("/stations", { region: region || myRegion(), per_page: 500 });
  return found.items.filter(s => !statuses || statuses.includes(s.status)).map(s => [s.id, s.name + "（" + s.id + "）"]);
}
async function stationSelect(name, region, statuses, attrs) {
  const options = await stationOptions(region, statuses);
  const box = select(name, [["", options.length ? "请选择社工站" : "辖区内没有社工站"]].concat(options), attrs);
  const wanted = query("station") || query("station_id");
  if (options.some(o => o[0] === wanted)) box.value = wanted;
  else if (options.length === 1) box.value = options[0][0];
  return box;
}
// A region box for a list page's filter, defaulting to the caller's own.
function regionFilter(value, pattern) {
  return el("label", {}, "区划代码", el("input", { name: "region", id: "region", size: 10, value: value || "",
    pattern: pattern || "\\d{2}|\\d{4}|\\d{6}|\\d{9}", inputmode: "numeric", "aria-describedby": "region-hint" }),
    el("span", { class: "muted", id: "region-hint" }, "省2位/市4位/县6位/乡镇9位"));
}

// ---- the workbench's tiles -------------------------------------------------------------------
// A sparkline of values (nulls skipped) as inline SVG.
function sparkline(values, opts) {
  opts = opts || {};
  const ns = "http" + "://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 100 30"); svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "spark"); svg.setAttribute("role", "img");
  const nums = values.map(v => (v === null || v === undefined ? null : Number(v)));
  const known = nums.filter(v => v !== null);
  svg.setAttribute("aria-label", opts.label || ("近 " + values.length + " 个月趋势"));
  if (known.length < 2) return svg;
  const lo = Math.min(...known), hi = Math.max(...known), span = hi - lo || 1;
  const pts = nums.map((v, i) => v === null ? null : [(i / (nums.length - 1)) * 100, 27 - ((v - lo) / span) * 24]).filter(Boolean);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.map(p => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" "));
  line.setAttribute("fill", "none"); line.setAttribute("stroke", opts.color || "#1565c0");
  line.setAttribute("stroke-width", "2"); line.setAttribute("vector-effect", "non-scaling-stroke");
  const dot = document.createElementNS(ns, "circle");
  const last = pts[pts.length - 1];
  dot.setAttribute("cx", last[0]); dot.setAttribute("cy", last[1]); dot.setAttribute("r", "2.5");
  dot.setAttribute("fill", opts.color || "#1565c0");
  svg.append(line, dot);
  return svg;
}
// A tile: {key, title, value (raw, for tests), text, unit, sub, trend: [...], tone, behind: [{name, href, text}], href}
function tile(t) {
  const node = el("article", { class: "tile " + (t.tone || ""), "data-figure": t.key, "data-value": t.value === null || t.value === undefined ? "" : String(t.value) },
    el("h3", {}, t.href ? el("a", { href: t.href }, t.title) : t.title),
    el("div", { class: "value" }, t.text, t.unit ? el("small", {}, " " + t.unit) : null),
    t.sub ? el("div", { class: "sub" }, t.sub) : null,
    t.trend ? sparkline(t.trend, { label: t.title + "近 " + t.trend.length + " 个月趋势", color: t.color }) : null);
  if (t.behind && t.behind.length) {
    node.append(el("div", { class: "behind-title" }, t.behindTitle || "落后地区"),
      el("ul", { class: "behind" }, t.behind.map(b => el("li", { "data-region": b.code },
        el("a", { href: b.href }, b.name), el("span", {}, b.text)))));
  }
  return node;
}
// The n children worst on a figure (lowest, or highest with `high`), known values only.
function worst(children, value, n, high) {
  return children.map(c => ({ c, v: value(c) })).filter(x => x.v !== null && x.v !== undefined && !isNaN(x.v))
    .sort((a, b) => high ? b.v - a.v : a.v - b.v).slice(0, n || 3);
}
