// The open follow-up tickets (voicemails, late or failed callbacks) for the switchboard and supervisors: read from
// /api/tickets, assigned and closed through the API, a voicemail's audio fetched with the token in the
// Authorization header and played from a blob: URL (a token never goes into a URL). A viewer never loads them:
// its tiles only count them (the board's `open_tickets`).
const api = (token, path, body) => fetch(path, {
  method: body === undefined ? "GET" : "POST",
  headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
  body: body === undefined ? undefined : JSON.stringify(body),
  cache: "no-store",
});

const ticketPath = (id, what) => `/api/tickets/${encodeURIComponent(id)}/${what}`;

export class TicketsPanel {
  // ui: { el, t, token: () => string, flash: (text) => void, section: HTMLElement, list: HTMLElement }
  constructor(ui) {
    this.ui = ui;
    this.tickets = [];
    this.seen = null; // the board's open-ticket total when last loaded
    this.audio = new Map(); // ticket id -> blob: URL
  }

  // After each board: reload the list when the open count changed (or on first sight); viewers see nothing.
  async update(board, detailed) {
    this.ui.section.hidden = !detailed;
    if (!detailed) return;
    const total = board.hotlines.reduce((n, h) => n + (h.open_tickets || 0), 0);
    if (total !== this.seen) {
      this.seen = total;
      await this.load();
    }
    this.render(board);
  }

  async load() {
    const response = await api(this.ui.token(), "/api/tickets?status=open").catch(() => null);
    if (response && response.ok) this.tickets = (await response.json()).tickets;
  }

  render(board) {
    const { el, t } = this.ui;
    this.board = board;
    const name = (id) => board.hotlines.find((h) => h.id === id)?.name ?? id;
    const rows = this.tickets.map((k) => el("li", { class: "ticket", "data-ticket": k.id, "data-testid": "ticket" },
      el("span", { class: "kind" }, t(`k_${k.kind}`)),
      el("span", {}, name(k.hotline)),
      k.caller ? el("span", { class: "caller" }, k.caller) : null,
      k.number ? el("a", { class: "number", href: `tel:${k.number}` }, k.number) : null,
      el("span", { class: "since" }, new Date(k.created_at * 1000).toLocaleString(t("locale"))),
      el("span", { class: "status" }, k.assigned_to ? `${t("assigned_to")} ${k.assigned_to}` : t("t_new")),
      k.has_audio ? this.player(k) : null,
      this.assignForm(k, board),
      this.doneForm(k)));
    this.ui.list.replaceChildren(...(rows.length ? rows : [el("li", { class: "quiet" }, t("no_ticket"))]));
  }

  player(k) {
    const { el, t } = this.ui;
    const url = this.audio.get(k.id);
    if (url) return el("audio", { controls: true, src: url, "data-testid": "ticket-audio" });
    return el("button", { type: "button", "data-action": "listen", onclick: () => this.listen(k) }, t("listen"));
  }

  async listen(k) {
    const response = await api(this.ui.token(), ticketPath(k.id, "audio")).catch(() => null);
    if (!response || !response.ok) return this.failed(response);
    this.audio.set(k.id, URL.createObjectURL(await response.blob()));
    this.render(this.board);
    this.ui.list.querySelector(`[data-ticket="${CSS.escape(k.id)}"] audio`)?.play().catch(() => {});
  }

  assignForm(k, board) {
    const { el, t } = this.ui;
    const select = el("select", { "aria-label": t("assign") },
      board.agents.map((a) => el("option", { value: a.id, selected: a.id === k.assigned_to }, a.name)));
    return el("span", { class: "actions" }, select,
      el("button", { type: "button", "data-action": "assign",
                     onclick: () => this.act(ticketPath(k.id, "assign"), { agent: select.value }) }, t("assign")));
  }

  doneForm(k) {
    const { el, t } = this.ui;
    const note = el("input", { type: "text", maxlength: "2000", placeholder: t("note"), "aria-label": t("note") });
    return el("span", { class: "actions" }, note,
      el("button", { type: "button", "data-action": "done",
                     onclick: () => this.act(ticketPath(k.id, "done"), { note: note.value }) }, t("ticket_done")));
  }

  async act(path, body) {
    const response = await api(this.ui.token(), path, body).catch(() => null);
    if (!response || !response.ok) return this.failed(response);
    this.ui.flash(this.ui.t("done"));
    await this.load();
    this.render(this.board);
  }

  async failed(response) {
    const problem = response ? await response.json().catch(() => ({})) : {};
    this.ui.flash(`${this.ui.t("failed")}: ${problem.reason || (response ? response.status : "network")}`);
  }

  forget() {
    for (const url of this.audio.values()) URL.revokeObjectURL(url);
    this.audio.clear();
    this.tickets = [];
    this.seen = null;
    this.ui.section.hidden = true;
  }
}
